-- Support shared by the four library ports (cjson, cmsgpack, bit, struct): how a library function
-- is exposed (cfunction: a plain Lua function by default, or with env.c_functions a callable
-- that behaves as a C function does in 5.1, keeping the caller's frame so errors carry its
-- position), Lua 5.1's argument-error texts (argerror, typeerror, with the name the caller
-- spelled: caller), strtod's number syntax, and is_cfunction to recognise a library function.
-- LuaEngine loads it first and passes its result to each library as env.support.
local env = ...
local c_functions = env.c_functions
local type, next, select, error, pcall, rawget, rawset = type, next, select, error, pcall, rawget, rawset
local setmetatable, tonumber = setmetatable, tonumber
local coroutine_wrap, coroutine_yield = coroutine.wrap, coroutine.yield
local byte, char, find, format, gsub, lower, sub, match =
    string.byte, string.char, string.find, string.format, string.gsub, string.lower, string.sub, string.match
local concat, table_unpack = table.concat, table.unpack
local floor, huge, tointeger, mininteger, math_type =
    math.floor, math.huge, math.tointeger, math.mininteger, math.type
local getinfo = debug and debug.getinfo
local getmetatable_raw = debug and debug.getmetatable
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

-- Whether v is a library function from any of the four libraries (they share this shape).
local function is_cfunction(v)
    local mt = getmetatable_raw and getmetatable_raw(v)
    return mt ~= nil and mt.__name == "function" and mt.__metatable == false and mt.__call ~= nil
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

return {
    cfunction = cfunction,
    caller = caller,
    argerror = argerror,
    typeerror = typeerror,
    strtod = strtod,
    is_cfunction = is_cfunction,
}
