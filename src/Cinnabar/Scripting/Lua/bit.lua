-- bit: LuaBitOp 1.0.2 as Redis 7.0 ships it (deps/lua/src/lua_bit.c), in Lua 5.4 for a 5.1
-- script's view. Arguments are normalised as the C does for doubles: add 2^52+2^51 and keep the
-- low 32 bits of the result's IEEE 754 pattern (string.pack gives them exactly), so fractions round
-- half to even and huge values wrap the same way; results are signed 32-bit integers; tohex has
-- Redis's guard for a width of INT32_MIN.
-- Still differs from Redis:
-- functions are plain Lua functions, whose errors lack the caller's position when called in
-- tail position (`return f(x)`); with env.c_functions they are exposed the way C functions are
-- (see cfunction), exact there, as callable tables printed "function: 0x..." of type() "table".
-- Argument errors name the function as its caller spelled it, except after a plain function's
-- tail call or from a coroutine the registry does not hold, where the library's name stands in.
local env = ...
local c_functions = env.c_functions
local type, next, select, error, pcall, setmetatable, tonumber =
    type, next, select, error, pcall, setmetatable, tonumber
local coroutine_wrap, coroutine_yield = coroutine.wrap, coroutine.yield
local byte, find, format, lower, sub, match =
    string.byte, string.find, string.format, string.lower, string.sub, string.match
local pack, unpack = string.pack, string.unpack
local huge, math_type = math.huge, math.type

local table_unpack = table.unpack
local getinfo = debug and debug.getinfo
local getregistry = debug and debug.getregistry

-- Exposes f the way a C function is exposed to Lua 5.1. Lua 5.4 really tail-calls a Lua function
-- called as `return f(x)`, which drops the caller's frame and with it the "user_script:1:"
-- position luaL_error reports. A coroutine.wrap function is a C function, so the caller's frame
-- stays, and its error path prepends luaL_where(L, 1) to a string error exactly as luaL_error
-- does: the library raises every error with level 0. A failed coroutine is dead, so the callable
-- table gets a fresh one before the error leaves. That is with env.c_functions; by default the
-- library exposes plain Lua functions, which add the caller's position themselves unless
-- tail-called (a sandbox that wraps tables in read-only proxies must leave callables alone).
local running -- the metatable of the callable running now (calls do not nest)
local running_plain -- the plain function running now
local function function_index() error("attempt to index a function value", 2) end
local function pack_results(...) return { n = select("#", ...), ... } end
local function cfunction(f)
    if not c_functions then
        local public
        public = function(...)
            local outer = running_plain
            running_plain = public
            local r = pack_results(pcall(f, ...))
            running_plain = outer
            if r[1] then return table_unpack(r, 2, r.n) end
            local msg = r[2]
            if not getinfo then error(msg, 2) end
            if type(msg) == "string" and not getinfo(1, "t").istailcall then
                local ar = getinfo(2, "Sl")
                if ar and ar.currentline > 0 then
                    msg = ar.short_src .. ":" .. ar.currentline .. ": " .. msg
                end
            end
            error(msg, 0)
        end
        return public
    end
    -- __name makes tostring() say "function: 0x..."; is_cfunction() recognises the metatable.
    local mt = {
        __metatable = false, __name = "function", __index = function_index, __newindex = function_index,
    }
    local step
    local function spawn() mt.__call = coroutine_wrap(step) end
    local function finish(ok, ...)
        running = nil
        if not ok then
            spawn()
            error((...), 0)
        end
        return step(coroutine_yield(...))
    end
    step = function(_, ...)
        running = mt
        return finish(pcall(f, ...))
    end
    spawn()
    return setmetatable({}, mt)
end

-- The calling frame of the running library function, as lua_getinfo(L, 0, "nf") on the C function
-- sees it. A plain function's frame is on this thread's stack (a tail call leaves no name). A
-- callable runs in its own coroutine, so its caller is level 0 of the thread that resumed it,
-- found among the registry's threads (the main thread, the engine's script thread); one outside
-- the registry (a script's own coroutine) is not found.
local function caller()
    if not getinfo then return nil end
    if running_plain then
        for level = 2, 100 do
            local ar = getinfo(level, "nft")
            if not ar then return nil end
            if ar.func == running_plain then return not ar.istailcall and ar or nil end
        end
        return nil
    end
    if not (getregistry and running) then return nil end
    local fn = running.__call
    for _, th in next, getregistry() do
        if type(th) == "thread" then
            local ar = getinfo(th, 0, "nf")
            if ar and ar.func == fn then return ar end
        end
    end
end

-- luaL_argerror: names the function as its caller spelled it, '?' when it has no name (called
-- through pcall), the library's name when the caller is not seen.
local function argerror(narg, fname, extramsg)
    local ar = caller()
    if ar then
        fname = ar.name or "?"
        if ar.namewhat == "method" then
            narg = narg - 1
            if narg == 0 then error(format("calling '%s' on bad self (%s)", fname, extramsg), 0) end
        end
    end
    error(format("bad argument #%d to '%s' (%s)", narg, fname, extramsg), 0)
end

-- luaL_typerror.
local function typeerror(narg, fname, tname, nargs, v)
    argerror(narg, fname, format("%s expected, got %s", tname, narg > nargs and "no value" or type(v)))
end

-- strtod(): the longest prefix of s at i that glibc's strtod converts (no leading space: callers
-- skip it). Returns the value and the index after it, or nil. Integral results may be integers
-- (exact ones only), callers normalise with number51 or use them as numbers.
local function strtod(s, i)
    local neg, p = false, i
    local c = byte(s, p)
    if c == 45 or c == 43 then
        neg, p = c == 45, p + 1
        c = byte(s, p)
    end
    local value, e
    if c and (c >= 49 and c <= 57 or c == 46 or (c == 48 and (byte(s, p + 1) or 0) | 0x20 ~= 120)) then
        -- decimal: digits, optional fraction, optional exponent with at least one digit
        local me = match(s, "^%d*%.?%d*()", p)
        if me == p + 1 and c == 46 then return nil end
        local digits = me - p
        me = match(s, "^[eE][+-]?%d+()", me) or me
        value, e = tonumber(sub(s, p, me - 1)), me
        -- up to 15 digits an integer numeral is exact as a double; longer ones round like strtod
        if digits > 15 or math_type(value) == "float" then value = value + 0.0 end
    elseif c == 48 then
        local m, me = match(s, "^(%x*%.?%x*)()", p + 2)
        if find(m, "%x") then
            local x, xe = match(s, "^[pP]([+-]?%d+)()", me)
            value, e = tonumber("0x" .. m .. "p" .. (x or "0")), xe or me
        else
            value, e = 0.0, p + 1
        end
    else
        local word = lower(sub(s, p, p + 7))
        if sub(word, 1, 3) == "inf" then
            value, e = huge, (word == "infinity" and p + 8 or p + 3)
        elseif sub(word, 1, 3) == "nan" then
            value, e = -(0 / 0), p + 3
            local close = match(s, "^%([%w_]*%)()", e)
            if close then e = close end
        else
            return nil
        end
    end
    if neg then value = -(value + 0.0) end
    return value, e
end

-- lua_tonumber() on a 5.1 string: strtod over the C string, then only trailing space.
local function str2number51(s)
    s = match(s, "^[^%z]*")
    local p = match(s, "^[ \t\n\v\f\r]*()")
    local value, e = strtod(s, p)
    if not value or not find(s, "^[ \t\n\v\f\r]*$", e) then return nil end
    return value
end

local function tobits32(b)
    b = b & 0xFFFFFFFF
    return b >= 0x80000000 and b - 0x100000000 or b
end

-- barg(): argument narg as an unsigned 32-bit value; nargs is how many the function got.
local function barg(narg, fname, nargs, v)
    local n = v
    if type(v) == "string" then n = str2number51(v) end
    if type(n) ~= "number" then n = 0 end
    local b = unpack("<I4", pack("<d", n + 6755399441055744.0))
    if b == 0 and type(v) ~= "number" and not (type(v) == "string" and str2number51(v)) then
        typeerror(narg, fname, "number", nargs, v)
    end
    return b
end

local function unary(fname, op)
    return cfunction(function(...)
        return tobits32(op(barg(1, fname, select("#", ...), (...))))
    end)
end

local function bitop(fname, op)
    return cfunction(function(...)
        local nargs = select("#", ...)
        local b = barg(1, fname, nargs, (...))
        for i = nargs, 2, -1 do
            b = op(b, barg(i, fname, nargs, (select(i, ...))))
        end
        return tobits32(b)
    end)
end

local function shift(fname, op)
    return cfunction(function(...)
        local nargs = select("#", ...)
        local x, count = ...
        local b = barg(1, fname, nargs, x)
        return tobits32(op(b, barg(2, fname, nargs, count) & 31))
    end)
end

local function tohex(...)
    local nargs = select("#", ...)
    local x, width = ...
    local b = barg(1, "tohex", nargs, x)
    local n = nargs < 2 and 8 or tobits32(barg(2, "tohex", nargs, width))
    local fmt = "%08x"
    if n == -0x80000000 then n = -0x7FFFFFFF end -- as Redis's fix for CVE-2024-31449
    if n < 0 then n, fmt = -n, "%08X" end
    if n > 8 then n = 8 end
    return sub(format(fmt, b), 9 - n)
end

return {
    tobit = unary("tobit", function(b) return b end),
    bnot = unary("bnot", function(b) return ~b end),
    band = bitop("band", function(a, b) return a & b end),
    bor = bitop("bor", function(a, b) return a | b end),
    bxor = bitop("bxor", function(a, b) return a ~ b end),
    lshift = shift("lshift", function(b, n) return b << n end),
    rshift = shift("rshift", function(b, n) return b >> n end),
    arshift = shift("arshift", function(b, n) return tobits32(b) // (1 << n) end),
    rol = shift("rol", function(b, n) return (b << n) | (b >> (32 - n)) end),
    ror = shift("ror", function(b, n) return (b << (32 - n)) | (b >> n) end),
    bswap = unary("bswap", function(b)
        return (b >> 24) | ((b >> 8) & 0xFF00) | ((b & 0xFF00) << 8) | ((b & 0xFF) << 24)
    end),
    tohex = cfunction(tohex),
}
