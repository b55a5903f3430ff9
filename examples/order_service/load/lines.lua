-- wrk load for the order service: POST /orders/{id}/lines across many orders.
--
--   wrk -t2 -c64 -d30s -s examples/order_service/load/lines.lua http://127.0.0.1:8080
--
-- Each wrk thread keeps up to `pool_size` open orders (created with POST /orders as needed), posts lines to them
-- in turn, and retires an order after `lines_per_order` lines (so orders stay small and under the 10,000.00
-- limit: 50 lines of 1 x 0.25). At the end it prints the responses by status code; wrk's own "Non-2xx or 3xx
-- responses" line counts the errors.
local pool_size = 64
local lines_per_order = 50
local orders = {}
local counts = {}
local creating = 0
local turn = 0
statuses = {} -- global: done() reads it from each thread
local headers = { ["Content-Type"] = "application/json" }
local line_body = '{"product_id":"p-load","name":"load line","quantity":1,"unit_price":"0.25"}'

function request()
  if #orders == 0 or #orders + creating < pool_size then
    creating = creating + 1
    return wrk.format("POST", "/orders", headers, '{"customer_id":"load"}')
  end
  turn = turn % #orders + 1
  local id = orders[turn]
  counts[id] = counts[id] + 1
  if counts[id] >= lines_per_order then
    orders[turn] = orders[#orders]
    orders[#orders] = nil
    counts[id] = nil
  end
  return wrk.format("POST", "/orders/" .. id .. "/lines", headers, line_body)
end

function response(status, _, body)
  statuses[status] = (statuses[status] or 0) + 1
  local id = body:match('^{"id":"([^"]+)"')
  if id then
    creating = creating - 1
    orders[#orders + 1] = id
    counts[id] = 0
  elseif creating > 0 and status ~= 200 then
    creating = creating - 1 -- a failed create (or a failed line: the pool refills either way)
  end
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

function done()
  local total = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  for status, n in pairs(total) do
    io.write(string.format("responses %d: %d\n", status, n))
  end
end
