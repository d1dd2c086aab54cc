-- wrk script: POST /orders, alternating a buy and a sell of one unit over every item of the
-- stock flavour, so stock stays near its start however long the run.
local items = {"GameStart", "FishCo", "BoarCo", "MenhirCo", "CrassusRealty", "AsterixInc",
               "ObelixLtd", "IdefixPets", "DruidPotions", "RomanRoads"}
local n = 0
request = function()
  n = n + 1
  local item = items[(math.floor(n / 2) % #items) + 1]
  local side = (n % 2 == 0) and "buy" or "sell"
  local body = '{"name":"' .. item .. '","quantity":1,"type":"' .. side .. '"}'
  return wrk.format("POST", "/orders", {["Content-Type"] = "application/json"}, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read +
                 summary.errors.write + summary.errors.timeout
  io.write(string.format("orders: %d requests, %d errors, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
    summary.requests, errors, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
