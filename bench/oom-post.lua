wrk.method = "POST"
wrk.body = '{"value":5}'
wrk.headers["Content-Type"] = "application/json"
