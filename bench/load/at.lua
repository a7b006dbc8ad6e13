-- wrk script: Africa's Talking form posts to daftar (or to examples/bare_http).
--
--   wrk -t2 -c32 -d15s --latency -s bench/load/at.lua http://127.0.0.1:PORT -- [mix|first|inquiry]
--
-- Every request carries a fresh sessionId (wrk thread number + a per-thread counter), so each
-- one is a self-contained step: a first screen (text empty) or a whole-path general inquiry
-- (text "2*<code>", replayed from the root on a session the server does not hold).
--   mix      every other request a first screen, the rest general inquiries (default)
--   first    first screens only
--   inquiry  general inquiries only
-- The codes are the sample feed's (data/README.md): covered, expired, suspended, ended, not
-- yet started, dependent, disabled son, no record. With AT_CHECK=1 in the environment the
-- replies are counted (CON / END / other status) and printed at the end; that hook costs wrk
-- CPU, so leave it off for timed runs.

local codes = {
  "0012345679", "0030000017", "0040000011", "0050000012",
  "0060000015", "0010000119", "0020000111", "0099999994",
}
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1] or "mix"
  counter = 0
  con, fin, bad = 0, 0, 0
end

local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local fixed = "&serviceCode=%2A4%2A1420%23&phoneNumber=%2B989129999999&networkCode=63902&text="

function request()
  counter = counter + 1
  local text
  if mode == "first" or (mode == "mix" and counter % 2 == 1) then
    text = ""
  else
    text = "2%2A" .. codes[(counter % #codes) + 1]
  end
  local body = "sessionId=wrk-" .. tid .. "-" .. counter .. fixed .. text
  return wrk.format("POST", "/ussd/africastalking", headers, body)
end

if os.getenv("AT_CHECK") == "1" then
  function response(status, hdrs, body)
    if status ~= 200 then
      bad = bad + 1
    elseif body:sub(1, 4) == "CON " then
      con = con + 1
    elseif body:sub(1, 4) == "END " then
      fin = fin + 1
    else
      bad = bad + 1
    end
  end

  function done(summary, latency, requests)
    local c, e, b = 0, 0, 0
    for _, t in ipairs(threads) do
      c = c + t:get("con")
      e = e + t:get("fin")
      b = b + t:get("bad")
    end
    io.write(string.format("replies: CON %d, END %d, other %d\n", c, e, b))
  end
end
