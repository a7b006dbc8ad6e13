-- wrk script: whole USSD sessions as an aggregator plays them (Africa's Talking form posts).
--
--   wrk -tC -cC -d15s -s bench/load/sessions.lua http://127.0.0.1:PORT -- MODE CALLERS [BLIND]
--
-- Run it with as many threads as connections (-t = -c): wrk gives the script no connection
-- identity, so one connection per thread is what lets a thread's state be one caller's
-- session, each step sent only after the previous reply came back (as a phone does).
--
-- CALLERS is the file `examples/load_sample.rs` writes from the generated feed (one caller a
-- line: `general CODE`, `own CODE MSISDN`, `deps MSISDN`, `osms IIN MSISDN|-`). MODE:
--   mix      general 40 %, own 25 %, deps 15 %, osms 20 % of sessions (default)
--   general  tamin general inquiry: '', '2', '2*CODE' from a provider's phone
--   own      tamin specific inquiry: '', '1', '1*CODE' from the phone registered for CODE
--   deps     tamin dependents list: '', '3' from a holder's phone (then '*98' per page)
--   osms     osms status: '', '1', '1*IIN' on *1406#, from the person's phone when one is known
--   first    the first screen alone (a caller who dials and hangs up)
-- A session ends at an END reply. After the last planned step, a CON is a paged result for deps
-- and osms (the caller asks for the next page, '98', until END, at most 20 pages), the end of
-- a `first` session (the caller hangs up), and a fault otherwise (counted stuck). With BLIND = 1 the
-- replies are not read and each session is exactly its planned steps: for the bare server,
-- whose fixed CON would otherwise look like an endless page.
--
-- done() prints one line of `key=value` pairs for bench/load/sessions.sh: steps, sessions,
-- replies counted by kind (con, fin = END, bad = not 200 or neither CON nor END, early = END
-- before the planned last step outside deps, stuck = a CON where an END was due), and the
-- client-side latency p50/p99/p99.9 in µs.

local TAMIN = "%2A4%2A1420%23"
local OSMS = "%2A1406%23"
local MAX_PAGES = 20
-- The kinds whose result may come in pages (CON with "98. more").
local PAGED = { deps = true, osms = true }
local MIX = { { "general", 40 }, { "own", 25 }, { "deps", 15 }, { "osms", 20 } }

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local function read_callers(path)
  local pool = { general = {}, own = {}, deps = {}, osms = {} }
  local f = assert(io.open(path, "r"), "cannot open callers file " .. tostring(path))
  for line in f:lines() do
    local fields = {}
    for word in line:gmatch("%S+") do
      fields[#fields + 1] = word
    end
    local kind = table.remove(fields, 1)
    if pool[kind] then
      table.insert(pool[kind], fields)
    end
  end
  f:close()
  for kind, list in pairs(pool) do
    assert(#list > 0, "no " .. kind .. " callers in " .. path)
  end
  return pool
end

function init(args)
  mode = args[1] or "mix"
  pool = read_callers(args[2] or os.getenv("LOAD_CALLERS"))
  blind = args[3] == "1"
  math.randomseed(tid * 7919)
  -- A run's own block of provider phones: sessions a run cut off at its end leave resume
  -- offers (SPEC §3) that the next run's callers must not meet.
  -- 98 + run slot (3 digits, never 912, the generated people's prefix) + thread + counter.
  run_slot = os.time() % 1000
  if run_slot == 912 then
    run_slot = 913
  end
  sessions_started, steps, sessions = 0, 0, 0
  con, fin, bad, early, stuck = 0, 0, 0, 0, 0
  fault = ""
  session = nil
end

local function pick_kind()
  if mode ~= "mix" then
    return mode
  end
  local roll, acc = math.random(100), 0
  for _, weight in ipairs(MIX) do
    acc = acc + weight[2]
    if roll <= acc then
      return weight[1]
    end
  end
end

local function one_of(list)
  return list[math.random(#list)]
end

-- A provider's phone: no record holds it (generated people's phones are 98912…), and a new one
-- per session and per run (runs that start less than 1000 s apart get different slots) keeps
-- per-phone limits, session slots and resume offers out of the measurement.
local function provider_phone()
  return string.format("98%03d%02d%05d", run_slot, tid % 100, sessions_started % 100000)
end

-- The steps (Africa's Talking cumulative texts) a caller of `kind` plans to send.
local function plan(kind)
  if kind == "general" then
    local c = one_of(pool.general)
    return TAMIN, provider_phone(), { "", "2", "2*" .. c[1] }
  elseif kind == "own" then
    local c = one_of(pool.own)
    return TAMIN, c[2], { "", "1", "1*" .. c[1] }
  elseif kind == "deps" then
    local c = one_of(pool.deps)
    return TAMIN, c[1], { "", "3" }
  elseif kind == "osms" then
    local c = one_of(pool.osms)
    local phone = c[2] ~= "-" and c[2] or provider_phone()
    return OSMS, phone, { "", "1", "1*" .. c[1] }
  elseif kind == "first" then
    return TAMIN, provider_phone(), { "" }
  end
  error("unknown mode " .. tostring(kind))
end

local function new_session()
  sessions_started = sessions_started + 1
  local kind = pick_kind()
  local code, phone, texts = plan(kind)
  session = {
    kind = kind,
    id = "ld-" .. tid .. "-" .. sessions_started,
    prefix = "&serviceCode=" .. code .. "&phoneNumber=%2B" .. phone .. "&networkCode=63902&text=",
    texts = texts,
    at = 1,
    pages = 0,
  }
end

local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

-- The current step of the current session; sent again as is if wrk reconnects before a reply.
function request()
  if session == nil then
    new_session()
  end
  local text = session.texts[session.at]:gsub("%*", "%%2A")
  return wrk.format("POST", "/ussd/africastalking", headers, "sessionId=" .. session.id .. session.prefix .. text)
end

local function finish()
  sessions = sessions + 1
  session = nil
end

function response(status, hdrs, body)
  steps = steps + 1
  local s = session
  if s == nil then
    return
  end
  local last = s.at == #s.texts
  if blind then
    if last then finish() else s.at = s.at + 1 end
    return
  end
  local head = body:sub(1, 4)
  if status ~= 200 or (head ~= "CON " and head ~= "END ") then
    bad = bad + 1
    fault = s.kind .. " step " .. s.at .. " got " .. status .. " " .. body:sub(1, 120):gsub("\n", " / ")
    finish()
  elseif head == "END " then
    fin = fin + 1
    if not last and s.kind ~= "deps" then
      early = early + 1
      fault = s.kind .. " step " .. s.at .. " got " .. body:sub(1, 120):gsub("\n", " / ")
    end
    finish()
  else
    con = con + 1
    if not last then
      s.at = s.at + 1
    elseif s.kind == "first" then
      finish()
    elseif not PAGED[s.kind] then
      stuck = stuck + 1
      fault = s.kind .. " step " .. s.at .. " got " .. body:sub(1, 120):gsub("\n", " / ")
      finish()
    elseif s.pages < MAX_PAGES then
      s.pages = s.pages + 1
      table.insert(s.texts, s.texts[#s.texts] .. "*98")
      s.at = s.at + 1
    else
      stuck = stuck + 1
      finish()
    end
  end
end

function done(summary, latency, requests)
  local total = { steps = 0, sessions = 0, con = 0, fin = 0, bad = 0, early = 0, stuck = 0 }
  for _, t in ipairs(threads) do
    for k, _ in pairs(total) do
      total[k] = total[k] + t:get(k)
    end
  end
  for _, t in ipairs(threads) do
    local f = t:get("fault")
    if f ~= nil and f ~= "" then
      io.write("FAULT (one example) " .. f .. "\n")
      break
    end
  end
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT steps=%d sessions=%d con=%d fin=%d bad=%d early=%d stuck=%d errors=%d seconds=%.2f steps_per_s=%.1f sessions_per_s=%.1f p50_us=%d p99_us=%d p999_us=%d\n",
    total.steps, total.sessions, total.con, total.fin, total.bad, total.early, total.stuck,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    secs, total.steps / secs, total.sessions / secs,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
