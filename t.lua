wrk.method="POST"
wrk.body='{"addr":"0x7ffff7ffe000","length":"4K","access":"write"}'
wrk.headers["Content-Type"]="application/json"
