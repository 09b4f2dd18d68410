#!/usr/bin/env bash
# Publishing a raw corpus to S3 (moto on loopback) and starting a server on it, cold and warm:
#   benches/harness/s3_startup.sh RAW_DIR [ZHIJIAN_BINARY]
# Prints the publish time, and for a cold then a warm mirror the time from `zhijian serve` to the
# first index-backed answer and what the mirror fetched. Needs the test venv (moto).
set -euo pipefail
RAW=${1:?usage: s3_startup.sh RAW_DIR [ZHIJIAN_BINARY]}
B=${2:-${CARGO_TARGET_DIR:-$HOME/.cache/zhijian/target}/release/zhijian}
PY=$(ls -d ~/.cache/zhijian/venv-*)/bin/python
W=$(mktemp -d)
$PY -m moto.server -H 127.0.0.1 -p 9911 > /dev/null 2>&1 & MOTO=$!
trap "kill $MOTO; rm -rf $W" EXIT
sleep 3
$PY -c "import boto3; boto3.client('s3', endpoint_url='http://127.0.0.1:9911', aws_access_key_id='k', aws_secret_access_key='s', region_name='us-east-1').create_bucket(Bucket='zhijian')"
export AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:9911 AWS_ALLOW_HTTP=true ZHIJIAN_LOG=warn
t0=$(date +%s.%N)
$B ingest --raw "$RAW" --warehouse s3://zhijian/demo --staging $W/staging | tail -2
t1=$(date +%s.%N); echo "ingest to s3: $(echo "$t1 - $t0" | bc) s"
for run in cold warm; do
  t0=$(date +%s.%N)
  $B serve --warehouse s3://zhijian/demo --cache $W/mirror --addr 127.0.0.1:9912 > $W/serve-$run.log 2>&1 & S=$!
  until curl -s http://127.0.0.1:9912/readyz 2>/dev/null | grep -q '"state":"ready"'; do sleep 0.05; done
  curl -s -o /dev/null "http://127.0.0.1:9912/api/v1/search?q=%E7%94%B5%E7%83%AD"
  t1=$(date +%s.%N); echo "$run mirror: first index-backed answer after $(echo "$t1 - $t0" | bc) s"
  grep mirrored $W/serve-$run.log || true
  curl -s http://127.0.0.1:9912/readyz; echo
  kill $S; wait $S 2>/dev/null || true
done
du -sh $W/mirror
