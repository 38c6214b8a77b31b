Remotes: the default remote `local` (~/.cache/attrition/dvc-remote) needs no set-up; a second clone of
the same user pulls what the first pushed. Then the team's `s3` remote, its endpoint and credentials in
.dvc/config.local (never committed); here moto's S3 server on 127.0.0.1 stands in for S3.

  $ make repro > scratch/repro.log 2>&1
  $ dvc push
  16 files pushed
  $ git clone -q . ../second
  $ (cd ../second && dvc pull -q && git status --short && dvc status)
  Data and pipelines are up to date.

The team's `s3` remote (moto's server stands in for S3 here):

  $ moto_server -H 127.0.0.1 -p 18435 > scratch/moto.log 2>&1 &
  $ timeout 60 sh -c 'until curl -s -o /dev/null http://127.0.0.1:18435; do sleep 1; done'
  $ python -c 'import boto3; boto3.client("s3", endpoint_url="http://127.0.0.1:18435", region_name="us-east-1",
  >   aws_access_key_id="test", aws_secret_access_key="test").create_bucket(Bucket="attrition-dvc")'
  $ dvc remote modify --local s3 endpointurl http://127.0.0.1:18435   # omit for AWS itself
  $ dvc remote modify --local s3 access_key_id test
  $ dvc remote modify --local s3 secret_access_key test
  $ dvc push -r s3                          # on the machine that built it
  16 files pushed
  $ git status --short
  $ git clone -q . ../third && cd ../third  # on a new machine
  $ dvc remote modify --local s3 endpointurl http://127.0.0.1:18435
  $ dvc remote modify --local s3 access_key_id test
  $ dvc remote modify --local s3 secret_access_key test
  $ dvc pull -r s3 -q && git status --short && dvc status
  Data and pipelines are up to date.
