-- The script environment Redis 7.0 gives Lua code, built on Lua 5.4 (LuaEngine runs this chunk
-- once per Lua state, after the standard libraries; cjson/cmsgpack/bit/struct load on first use):
--   * the `redis` table (call, pcall, error_reply, status_reply, sha1hex, log, setresp,
--     set_repl, replicate_commands, breakpoint, debug, acl_check_cmd, the LOG_*/REPL_* constants);
--     the C# functions in `api` never raise (a longjmp across managed frames is undefined), they
--     return (error_table, true) and the wrappers here raise;
--   * what Lua 5.1 code expects and 5.4 dropped (unpack, loadstring, gcinfo, table.getn and
--     friends, math.pow/mod/log10/..., string.gfind), tostring printing integral floats as 5.1
--     does, Redis's deterministic math.random (lrand48), Redis's pcall (error tables become their
--     message), the error handler that adds the script's source and line to an error;
--   * the sandbox: exactly Redis's globals, and every table reachable from them (plus the string
--     metatable) read-only, as Redis 7.0's readonly tables make them. Lua 5.4 has no readonly
--     tables, so each is replaced by an empty proxy whose metatable reads through and refuses
--     writes; rawset/rawget/next/setmetatable see through proxies so they cannot bypass them.
-- Returns the error handler, the real globals table (where KEYS/ARGV are set per call), the
-- read-only view of it, for_functions (the FUNCTION engine's environment), readonly() and run().
local api = ...

local type, tostring, error, select, next, rawget, rawset, setmetatable, getmetatable, ipairs =
      type, tostring, error, select, next, rawget, rawset, setmetatable, getmetatable, ipairs
local real_pcall, real_load, pairs, tonumber, collectgarbage = pcall, load, pairs, tonumber, collectgarbage
local sformat, ssub, sfind, sgsub = string.format, string.sub, string.find, string.gsub
local mtype, mfloor, tunpack, tconcat = math.type, math.floor, table.unpack, table.concat
local getinfo = debug.getinfo
local G = _G

-- Redis's luaPushErrorBuff: "-CODE msg" keeps its code, "msg" gets ERR; trailing newlines go.
local function error_table(s)
  local code, msg = 'ERR', s
  if ssub(s, 1, 1) == '-' then
    local sp = sfind(s, ' ', 1, true)
    if sp then code, msg = ssub(s, 2, sp - 1), ssub(s, sp + 1) else msg = ssub(s, 2) end
  end
  msg = sgsub(sgsub(msg, '^[\r\n]+', ''), '[\r\n]+$', '')
  return { err = code .. ' ' .. msg }
end

-- tostring as Lua 5.1 prints numbers: an integral float prints without ".0" (%.14g).
local real_tostring = tostring
tostring = function(v)
  if mtype(v) == 'float' then return sformat('%.14g', v) end
  return real_tostring(v)
end
G.tostring = tostring

-- Lua 5.4 words runtime errors as "attempt to call a nil value (field 'x')"; scripts and tests
-- written for Redis expect 5.1's "attempt to call field 'x' (a nil value)".
local function lua51_message(s)
  return (sgsub(s, "attempt to ([%a ]-) an? (%a+) value %((%a+) '([^']*)'%)", "attempt to %1 %3 '%4' (a %2 value)"))
end

-- The error handler of every script call (Redis's __redis__err__handler): an error becomes a
-- table {err=..., source=..., line=...} pointing at the first frame of the user's code.
local function err_handler(err)
  local level = 2
  local i = getinfo(level, 'Sl')
  while i and (i.what == 'C' or ssub(i.source, 1, 1) == '=') do
    level = level + 1
    i = getinfo(level, 'Sl')
  end
  if type(err) ~= 'table' then err = { err = 'ERR ' .. lua51_message(tostring(err)) } end
  if i then
    rawset(err, 'source', i.source)
    rawset(err, 'line', i.currentline)
  end
  return err
end

local function raising(f)
  return function(...)
    local r, failed = f(...)
    if failed then error(r, 0) end
    return r
  end
end

-- ---------------------------------------------------------------- the redis table
local c_call = api.call
local redis = {}
redis.call = function(...)
  local r, failed = c_call(...)
  if failed then error(r, 0) end
  return r
end
redis.pcall = function(...) return (c_call(...)) end
redis.error_reply = function(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then return error_table('wrong number or type of arguments') end
  if ssub(e, 1, 1) ~= '-' then e = '-' .. e end
  return error_table(e)
end
redis.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then return error_table('wrong number or type of arguments') end
  return { ok = s }
end
redis.sha1hex = raising(api.sha1hex)
redis.setresp = raising(api.setresp)
redis.set_repl = raising(api.set_repl)
redis.acl_check_cmd = raising(api.acl_check_cmd)
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
local c_log = api.log
redis.log = function(...)
  local n = select('#', ...)
  if n < 2 then error(error_table('redis.log() requires two arguments or more.'), 0) end
  local level = ...
  if type(level) ~= 'number' and not (type(level) == 'string' and tonumber(level)) then
    error(error_table('First argument must be a number (log level).'), 0)
  end
  level = tonumber(level)
  if level < 0 or level > 3 then error(error_table('Invalid debug level.'), 0) end
  local parts = {}
  for j = 2, n do
    local v = select(j, ...)
    local t = type(v)
    if t == 'string' or t == 'number' then parts[#parts + 1] = tostring(v) end
  end
  c_log(mfloor(level), tconcat(parts, ' '))
end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.REDIS_VERSION, redis.REDIS_VERSION_NUM = api.version, api.version_num
G.redis = redis

-- ---------------------------------------------------------------- Redis's pcall
local function pcall_result(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == 'table' then
    local m = e.err
    if type(m) == 'string' or type(m) == 'number' then return false, m end
  end
  return false, e
end
G.pcall = function(f, ...) return pcall_result(real_pcall(f, ...)) end

-- ---------------------------------------------------------------- Lua 5.1 compatibility
G.unpack = tunpack
G.loadstring = function(s, chunkname) return real_load(s, chunkname or s, 't') end
G.load = function(chunk, chunkname, mode, env)
  if env == nil then return real_load(chunk, chunkname, 't') end
  return real_load(chunk, chunkname, 't', env)
end
G.gcinfo = function() return mfloor(collectgarbage('count')) end

local T = table
T.getn = function(t) return #t end
T.maxn = function(t)
  local max = 0
  for k in pairs(t) do
    if type(k) == 'number' and k > max then max = k end
  end
  return max
end
T.setn = function() error("'setn' is obsolete", 2) end
T.foreach = function(t, f)
  for k, v in pairs(t) do
    local r = f(k, v)
    if r ~= nil then return r end
  end
end
T.foreachi = function(t, f)
  for i = 1, #t do
    local r = f(i, t[i])
    if r ~= nil then return r end
  end
end
T.move, T.pack, T.unpack = nil, nil, nil

local M = math
local exp, log = M.exp, M.log
M.pow = function(x, y) return x ^ y end
M.mod = M.fmod
M.log10 = function(x) return log(x, 10) end
M.atan2 = function(y, x) return M.atan(y, x) end
M.cosh = function(x) return (exp(x) + exp(-x)) / 2 end
M.sinh = function(x) return (exp(x) - exp(-x)) / 2 end
M.tanh = function(x)
  if x > 20 then return 1.0 elseif x < -20 then return -1.0 end
  local a, b = exp(x), exp(-x)
  return (a - b) / (a + b)
end
M.frexp = function(x)
  if x == 0 or x ~= x or x == M.huge or x == -M.huge then return x, 0 end
  local e = mfloor(log(M.abs(x), 2)) + 1
  local m = x / 2.0 ^ e
  if M.abs(m) >= 1 then m, e = m / 2, e + 1 elseif M.abs(m) < 0.5 then m, e = m * 2, e - 1 end
  return m, e
end
M.ldexp = function(m, e) return m * 2.0 ^ e end

-- Redis's math.random: lrand48 (X = a*X + c mod 2^48) from lrand48's initial state, one
-- sequence for the server's life (math.randomseed restarts it), the same on every platform.
local lrand_x = 0x1234ABCD330E
local LRAND48_MAX = 2147483647
local function lrand48()
  lrand_x = (lrand_x * 0x5DEECE66D + 0xB) & 0xFFFFFFFFFFFF
  return lrand_x >> 17
end
local function srand48(seed)
  seed = seed & 0xFFFFFFFF
  lrand_x = (seed << 16) | 0x330E
end
local function checkint(v, n, fname)
  local x = tonumber(v)
  if x == nil then
    error(sformat("bad argument #%d to '%s' (number expected, got %s)", n, fname, v == nil and 'no value' or type(v)), 3)
  end
  if x >= 0 then return mfloor(x) else return -mfloor(-x) end
end
M.random = function(...)
  local r = (lrand48() % LRAND48_MAX) / LRAND48_MAX
  local n = select('#', ...)
  if n == 0 then return r end
  if n == 1 then
    local u = checkint(..., 1, 'random')
    if u < 1 then error("bad argument #1 to 'random' (interval is empty)", 2) end
    return mfloor(r * u) + 1
  end
  if n == 2 then
    local l, u = checkint((...), 1, 'random'), checkint(select(2, ...), 2, 'random')
    if l > u then error("bad argument #2 to 'random' (interval is empty)", 2) end
    return mfloor(r * (u - l + 1)) + l
  end
  error('wrong number of arguments', 2)
end
M.randomseed = function(seed) srand48(checkint(seed, 1, 'randomseed')) end
M.maxinteger, M.mininteger, M.tointeger, M.type, M.ult = nil, nil, nil, nil, nil

string.gfind = string.gmatch
string.pack, string.packsize, string.unpack = nil, nil, nil
coroutine.close, coroutine.isyieldable = nil, nil

-- ---------------------------------------------------------------- the sandbox
local allowed = {}
for name in string.gmatch('ARGV KEYS _G _VERSION __redis__err__handler assert bit cjson cmsgpack collectgarbage ' ..
    'coroutine error gcinfo getmetatable ipairs load loadstring math next pairs pcall rawequal rawget ' ..
    'rawset redis select setmetatable string struct table tonumber tostring type unpack xpcall', '%S+') do
  allowed[name] = true
end
G.__redis__err__handler = err_handler
for k in pairs(G) do
  if not allowed[k] then G[k] = nil end
end

local real_of = setmetatable({}, { __mode = 'k' })
local READONLY = 'Attempt to modify a readonly table'
local function refuse_write() error(READONLY, 2) end

local function readonly(t)
  local proxy = {}
  local mt = {
    __index = t,
    __newindex = refuse_write,
    __len = function() return #t end,
    __pairs = function() return function(_, k) return next(t, k) end, proxy, nil end,
  }
  -- getmetatable sees the metatable read-only too (Redis protects metatables recursively).
  local mt_view = setmetatable({}, { __index = mt, __newindex = refuse_write, __metatable = false })
  real_of[mt_view] = mt
  mt.__metatable = mt_view
  setmetatable(proxy, mt)
  real_of[proxy] = t
  return proxy
end

local function protect_members(t, seen)
  for k, v in next, t do
    if type(v) == 'table' and not real_of[v] and not seen[v] then
      seen[v] = true
      protect_members(v, seen)
      t[k] = readonly(v)
    end
  end
end

-- cjson, struct, cmsgpack and bit load on first use (LuaEngine.LoadLibrary): most scripts never
-- touch them. Looking one up loads it; enumerating the globals loads them all first.
local c_load_library = api.load_library
local libraries = { cjson = true, struct = true, cmsgpack = true, bit = true }
local function load_library(name)
  local lib, failed = c_load_library(name)
  if failed then error(lib, 0) end
  protect_members(lib, { [lib] = true })
  lib = readonly(lib)
  rawset(G, name, lib)
  return lib
end
local function load_libraries()
  for name in next, libraries do
    if rawget(G, name) == nil then load_library(name) end
  end
end

G.rawset = function(t, k, v)
  if real_of[t] then error(READONLY, 0) end
  return rawset(t, k, v)
end
G.rawget = function(t, k)
  local real = real_of[t] or t
  if real == G and libraries[k] and rawget(G, k) == nil then load_library(k) end
  return rawget(real, k)
end
G.next = function(t, k)
  local real = real_of[t] or t
  if real == G then load_libraries() end
  return next(real, k)
end
G.setmetatable = function(t, mt)
  if real_of[t] then error(READONLY, 0) end
  return setmetatable(t, mt)
end

-- A missing global is an error, as in Redis (nothing can create one: _G is read-only).
local function missing_global(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end
local function global_index(_, name)
  if libraries[name] then return load_library(name) end
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end

G._G = nil
local seen = { [G] = true }
protect_members(G, seen)
local string_mt = getmetatable('')
string_mt.__index = G.string
string_mt.__metatable = readonly({ __index = G.string })
setmetatable(G, { __index = global_index, __metatable = false })
local env = readonly(G)
local env_mt = real_of[getmetatable(env)]
local env_pairs = env_mt.__pairs
env_mt.__pairs = function(proxy)
  load_libraries()
  return env_pairs(proxy)
end
rawset(G, '_G', env)

-- The FUNCTION engine's environment (function_lua.c): an empty read-only table reading through
-- to the script globals while functions run, and only to {redis = the library API} while a
-- library's code loads (redis.register_function, redis.log, the LOG_* and version constants).
local FLAG_BITS = { ['no-writes'] = 1, ['allow-oom'] = 2, ['allow-stale'] = 4, ['no-cluster'] = 8, ['allow-cross-slot-keys'] = 32 }
local function fail(msg) error(error_table(msg), 0) end

local function read_flags(f)
  if type(f) ~= 'table' then fail('flags argument to redis.register_function must be a table representing function flags') end
  local bits = 0
  for _, name in ipairs(f) do
    local b = type(name) == 'string' and FLAG_BITS[name]
    if not b then fail('unknown flag given') end
    bits = bits | b
  end
  return bits
end

-- lua_isstring: numbers count as strings, as in Redis's checks.
local function is_string(v) local t = type(v) return t == 'string' or t == 'number' end

local c_register = api.register_function
local function register_function(...)
  local n = select('#', ...)
  local name, callback, flags, description = nil, nil, 0, nil
  if n == 1 then
    local t = ...
    if type(t) ~= 'table' then
      fail('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).')
    end
    for k, v in next, t do
      if type(k) ~= 'string' then fail('named argument key given to redis.register_function is not a string') end
      if k == 'function_name' then
        if not is_string(v) then fail('function_name argument given to redis.register_function must be a string') end
        name = tostring(v)
      elseif k == 'description' then
        if not is_string(v) then fail('description argument given to redis.register_function must be a string') end
        description = tostring(v)
      elseif k == 'callback' then
        if type(v) ~= 'function' then fail('callback argument given to redis.register_function must be a function') end
        callback = v
      elseif k == 'flags' then
        flags = read_flags(v)
      else
        fail('unknown argument given to redis.register_function')
      end
    end
    if not name then fail('redis.register_function must get a function name argument') end
    if not callback then fail('redis.register_function must get a callback argument') end
  else
    if n ~= 2 then fail('wrong number of arguments to redis.register_function') end
    name, callback = ...
    if not is_string(name) then fail('first argument to redis.register_function must be a string') end
    name = tostring(name)
    if type(callback) ~= 'function' then fail('second argument to redis.register_function must be a function') end
  end
  local r, failed = c_register(name, callback, flags, description)
  if failed then error(r, 0) end
end

local function for_functions()
  redis.breakpoint, redis.debug, redis.replicate_commands = nil, nil, nil
  local load_redis = setmetatable({
    register_function = register_function,
    log = redis.log,
    LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
    REDIS_VERSION = redis.REDIS_VERSION, REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
  }, { __index = missing_global })
  local load_api = readonly(setmetatable({ redis = readonly(load_redis) }, { __index = missing_global }))
  local mt = { __index = env, __newindex = refuse_write, __metatable = false }
  local function_env = setmetatable({}, mt)
  real_of[function_env] = G
  local function set_loading(on) mt.__index = on and load_api or env end
  return function_env, set_loading
end

-- A script runs as run(f, ...) in the script thread: the handler sees the error where it happened.
local xpcall = xpcall
local function run(f, ...) return xpcall(f, err_handler, ...) end

return err_handler, G, env, for_functions, readonly, run
