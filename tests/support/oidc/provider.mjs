// A real OpenID provider for the tests: oauth2-mock-server (discovery, JWKS, token endpoint with the
// client-credentials and authorization-code-with-PKCE grants) on 127.0.0.1, plus three test controls.
//
//   node provider.mjs <audience> [<user scopes>]
//
// Prints one line `ready <issuer URL>` once listening (port chosen by the OS). Tokens carry `aud` =
// <audience>. Controls (POST, under /test/): `rotate` publishes a new key and signs with it from now
// on, the old one staying published (a provider's ordinary rotation); `user-scopes` sets the scopes of
// the next sign-ins (body: scope=...). A token request may carry `test_issued_ago` (seconds) to get
// a token issued that long ago (an expired one, with the default lifetime of 300 s).
import { OAuth2Server } from 'oauth2-mock-server';
import { urlencoded } from 'express';

const audience = process.argv[2] ?? 'attrition';
let userScopes = process.argv[3] ?? 'openid attrition:predict attrition:decide';
const TOKEN_TTL_S = 300;

const server = new OAuth2Server();
let signingKid = (await server.issuer.keys.generate('RS256')).kid;
// oauth2-mock-server picks keys round-robin; a provider signs with its current key only.
const store = server.issuer.keys;
const get = store.get.bind(store);
store.get = (kid) => get(kid ?? signingKid);

server.service.on('beforeTokenSigning', (token, req) => {
  const body = req.body ?? {};
  const now = Math.floor(Date.now() / 1000);
  const ago = Number(body.test_issued_ago ?? 0);
  if (token.payload.scope !== undefined || body.grant_type === 'client_credentials') {
    // the access token (the id token has no scope): this service's audience
    token.payload.aud = body.aud ?? audience; // a client may ask for another audience
    if (body.grant_type === 'client_credentials') {
      token.payload.sub = body.client_id ?? 'client';
    } else {
      token.payload.sub = 'manager-oidc';
      token.payload.scope = userScopes;
    }
  }
  token.payload.iat = now - ago;
  token.payload.nbf = now - ago;
  token.payload.exp = now - ago + TOKEN_TTL_S;
});

const app = server.service.requestHandler;
app.post('/test/rotate', async (_req, res) => {
  signingKid = (await server.issuer.keys.generate('RS256')).kid;
  res.json({ kid: signingKid });
});
app.post('/test/user-scopes', urlencoded({ extended: false }), (req, res) => {
  userScopes = String(req.body.scope ?? '');
  res.json({ scope: userScopes });
});

await server.start(0, '127.0.0.1');
server.issuer.url = `http://127.0.0.1:${server.address().port}`; // not `localhost`: IPv4 only
console.log(`ready ${server.issuer.url}`);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
