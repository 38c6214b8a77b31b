The prediction service on the package `make repro` built: a development secret, a token, one prediction.

  $ make serve PORT=18432 > scratch/serve.log 2>&1 &
  $ timeout 120 sh -c 'until curl -sf http://127.0.0.1:18432/readyz > /dev/null; do sleep 1; done'
  $ TOKEN=$(make -s token)     # attrition token reads the same .attrition/dev-secret
  $ curl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  >   -d '{"age": 34, "job_role": "Sales", "monthly_income": 3200, "years_at_company": 2}' \
  >   http://127.0.0.1:18432/predict; echo
  {"attrition_probability":0.684,"decision":true,"decision_threshold":0.1773709473,"model_version":"v3-6af8d185a68d","source":"model","employee_id":null,"prediction_id":"*","warnings":[],"feature_source":"request","features":null,"feature_table_version":null,"features_as_of":null} (glob)
