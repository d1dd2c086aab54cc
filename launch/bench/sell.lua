-- wrk script: POST /orders, sells of one unit over every item of the stock flavour. A sell never
-- runs out of stock, so every request of a long run is an order that commits (a history grows).
local items = {"GameStart", "FishCo", "BoarCo", "MenhirCo", "CrassusRealty", "AsterixInc",
               "ObelixLtd", "IdefixPets", "DruidPotions", "RomanRoads"}
local n = 0
request = function()
  n = n + 1
  local body = '{"name":"' .. items[(n % #items) + 1] .. '","quantity":1,"type":"sell"}'
  return wrk.format("POST", "/orders", {["Content-Type"] = "application/json"}, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read +
                 summary.errors.write + summary.errors.timeout
  io.write(string.format("orders: %d requests, %d errors, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
    summary.requests, errors, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
