"""`attrition token`: print a development JWT signed with the service's HS256 secret.

The secret is ATTRITION_JWT_SECRET or ATTRITION_JWT_SECRET_FILE, else the development secret
that `attrition serve --dev` keeps in .attrition/dev-secret of this checkout. The token carries the
audience and issuer the service requires (ATTRITION_JWT_AUDIENCE / ATTRITION_JWT_ISSUER, same
environment) and lives at most ATTRITION_JWT_MAX_LIFETIME_S, so the service accepts it.
"""

from __future__ import annotations

import argparse

from attrition.service.commands.shell import OneLineParser, fail, load_settings

DEFAULT_TTL_S = 3600


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `attrition token`."""
    parser.add_argument("--sub", required=True, help="subject (who the caller is)")
    parser.add_argument(
        "--scope",
        action="append",
        required=True,
        help="attrition:predict, attrition:decide and/or attrition:admin (repeat or space-separate)",
    )
    parser.add_argument(
        "--ttl",
        type=int,
        default=argparse.SUPPRESS,
        help=f"seconds until expiry (default: {DEFAULT_TTL_S}, or ATTRITION_JWT_MAX_LIFETIME_S if shorter)",
    )


def run(args: argparse.Namespace) -> int:
    """Mint the token, or one line saying which flag or setting is wrong."""
    from attrition.service.core.dev_secret import DEV_SECRET_FILE
    from attrition.service.core.tokens import SCOPES, mint_token
    from attrition.service.settings import HMAC_ALGORITHMS, SettingsError

    scopes = [scope for value in args.scope for scope in value.split()]
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if not scopes or unknown:
        return fail(f"--scope {' '.join(unknown) or '(none)'}: use one or more of {', '.join(SCOPES)}")
    if not args.sub.strip():
        return fail("--sub: must be a non-empty subject name")
    try:
        settings = load_settings()
        longest = settings.jwt_max_lifetime_s
        ttl = getattr(args, "ttl", min(DEFAULT_TTL_S, longest))
        if not 0 < ttl <= longest:
            return fail(f"--ttl {ttl}: must be 1-{longest} seconds (ATTRITION_JWT_MAX_LIFETIME_S)")
        if not settings.has_secret() and DEV_SECRET_FILE.is_file():
            settings = settings.model_copy(update={"jwt_secret_file": DEV_SECRET_FILE})
        if settings.jwt_algorithm not in HMAC_ALGORITHMS:
            return fail(
                f"tokens for {settings.jwt_algorithm} come from your identity provider; "
                "`attrition token` only signs HS256 development tokens"
            )
        secret, algorithm = settings.signing_secret(), settings.jwt_algorithm
        audience, issuer = settings.jwt_audience, settings.jwt_issuer
        print(mint_token(secret, args.sub, scopes, ttl, algorithm, audience=audience, issuer=issuer))
    except (ValueError, SettingsError) as error:
        return fail(str(error))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: `attrition token --sub NAME --scope SCOPE [--ttl S]`."""
    parser = OneLineParser(prog="attrition token", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
