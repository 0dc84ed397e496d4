-- wrk script for bench/trigger.sh: POSTs to the URL given on the command line, with
-- `Authorization: Bearer $BENCH_TOKEN` when that variable is set (runwisp) and none otherwise
-- (webhook). With $BENCH_SIGNATURE set (MODE=hooks) every request carries the body
-- $BENCH_BODY, `Content-Type: application/json` and `X-Signature-256: $BENCH_SIGNATURE`.
-- It counts responses by status and, for 2xx answers carrying a runwisp run object (`"id"`)
-- or a webhook delivery's `{"run_id": …}`, the run ids and the runs acknowledged but refused
-- (`queue_full`, `skipped`; a delivery's answer does not say, trigger.sh asks the database). At the end it
-- prints `STATUS <code> <n>`, `REFUSED <n>`, `REQUESTS`, `DURATION_US`, `ERRORS` lines and
-- writes the acknowledged run ids, one a line, to $BENCH_IDS when that variable is set.

wrk.method = "POST"
wrk.body = ""
local token = os.getenv("BENCH_TOKEN")
if token ~= nil and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
end
local signature = os.getenv("BENCH_SIGNATURE")
if signature ~= nil and signature ~= "" then
    wrk.body = os.getenv("BENCH_BODY") or ""
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["X-Signature-256"] = signature
end

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    counts = {}
    ids = {}
    refused = 0
end

function response(status, headers, body)
    counts[status] = (counts[status] or 0) + 1
    if status >= 200 and status < 300 and body ~= nil then
        local id = string.match(body, '"id"%s*:%s*"(%w+)"')
            or string.match(body, '"run_id"%s*:%s*"(%w+)"')
        if id ~= nil then
            if string.find(body, '"queue_full"', 1, true) or string.find(body, '"skipped"', 1, true) then
                refused = refused + 1
            else
                table.insert(ids, id)
            end
        end
    end
end

function done(summary, latency, requests)
    local total = {}
    local refused_total = 0
    local out = nil
    local path = os.getenv("BENCH_IDS")
    if path ~= nil and path ~= "" then
        out = io.open(path, "w")
    end
    for _, t in ipairs(threads) do
        for status, n in pairs(t:get("counts")) do
            total[status] = (total[status] or 0) + n
        end
        refused_total = refused_total + t:get("refused")
        if out ~= nil then
            for _, id in ipairs(t:get("ids")) do
                out:write(id, "\n")
            end
        end
    end
    if out ~= nil then
        out:close()
    end
    for status, n in pairs(total) do
        io.write(string.format("STATUS %d %d\n", status, n))
    end
    local e = summary.errors
    io.write(string.format("REFUSED %d\n", refused_total))
    io.write(string.format("REQUESTS %d\n", summary.requests))
    io.write(string.format("DURATION_US %d\n", summary.duration))
    io.write(string.format("ERRORS %d %d %d %d\n", e.connect, e.read, e.write, e.timeout))
    io.write(string.format("LATENCY_US %d %d %d\n", latency:percentile(50), latency:percentile(99), latency.max))
end
