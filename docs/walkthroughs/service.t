The prediction service on the package `make repro` built: a development secret, a token, one prediction.

  $ make serve PORT=18432 > scratch/serve.log 2>&1 &
  $ timeout 120 sh -c 'until curl -sf http://127.0.0.1:18432/readyz > /dev/null; do sleep 1; done'
  $ TOKEN=$(make -s token)     # attrition token reads the same .attrition/dev-secret
  $ curl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  >   -d '{"age": 34, "job_role": "Sales", "monthly_income": 3200, "years_at_company": 2}' \
  >   http://127.0.0.1:18432/predict; echo
  {"attrition_probability":0.684,"decision":true,"decision_threshold":0.1773709473,"model_version":"v3-6af8d185a68d","source":"model","employee_id":null,"prediction_id":"*","warnings":[],"feature_source":"request","features":null,"feature_table_version":null,"features_as_of":null,"explanation":{"measured_in":"probability","baseline":0.16407301469851415,"contributions":{"monthly_income":0.19883581204856998,"years_at_company":0.1369782777850814,"job_role":0.18412838468531623},"reasons":[{"input":"monthly_income","contribution":0.19883581204856998,"text":"monthly income 3,200 is lower than about 90% of colleagues in Sales: +0.20"},{"input":"job_role","contribution":0.18412838468531623,"text":"job role Sales: +0.18"},{"input":"years_at_company","contribution":0.1369782777850814,"text":"years at company 2 is lower than about 80% of colleagues in Sales: +0.14"}]}} (glob)
