-- struct: Roberto Ierusalimschy's struct library as Redis 7.0 ships it (deps/lua/src/lua_struct.c,
-- with Redis's overflow checks), in Lua 5.4 for a 5.1 script's view on x86-64 Linux: native
-- little endian, long and size_t of 8 bytes, default '!' alignment 8, and the C conversions of
-- doubles to (unsigned) long that x86 performs for out-of-range values. Integer formats wider than
-- 8 bytes keep the C's 64-bit arithmetic (zero high bytes, sign mask shifted modulo 64).
-- Unpacked integers are Lua integers when they fit, floats otherwise (5.1 has only doubles).
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
local byte, char, find, format, lower, sub, match, rep, pack, unpack =
    string.byte, string.char, string.find, string.format, string.lower, string.sub, string.match, string.rep,
    string.pack, string.unpack
local concat, table_unpack = table.concat, table.unpack
local floor, huge, tointeger, mininteger, ult, math_type =
    math.floor, math.huge, math.tointeger, math.mininteger, math.ult, math.type

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

-- A number as a 5.1 script sees it: integral doubles become integers, the rest floats.
local function number51(d)
    if d == floor(d) and d ~= 0 or (d == 0 and 1 / d > 0) then
        return tointeger(d) or d
    end
    return d
end

-- lua_tonumber() on a 5.1 string: strtod over the C string, then only trailing space.
local function str2number51(s)
    s = match(s, "^[^%z]*")
    local p = match(s, "^[ \t\n\v\f\r]*()")
    local value, e = strtod(s, p)
    if not value or not find(s, "^[ \t\n\v\f\r]*$", e) then return nil end
    return value
end

local function checknumber(narg, fname, nargs, v)
    if type(v) == "number" then return v end
    local n = type(v) == "string" and str2number51(v)
    if not n then typeerror(narg, fname, "number", nargs, v) end
    return n
end

local function checkstring(narg, fname, nargs, v)
    if type(v) == "string" then return v end
    if type(v) == "number" then return format("%.14g", v) end
    typeerror(narg, fname, "string", nargs, v)
end

-- luaL_optinteger as a size_t: truncation toward zero, x86's INT64_MIN for what does not fit,
-- and a negative value wraps to a huge unsigned one (math.ult compares it as such).
local function optsize_t(narg, fname, nargs, v, default)
    if v == nil then return default end
    local d = checknumber(narg, fname, nargs, v)
    if d ~= d or d >= 2 ^ 63 or d < -2 ^ 63 then return mininteger end
    return tointeger(d >= 0 and floor(d) or -floor(-d))
end

local MAXINTSIZE = 32
local MAXALIGN = 8
local BIG, LITTLE = 0, 1
local sizes = { b = 1, B = 1, h = 2, H = 2, l = 8, L = 8, T = 8, f = 4, d = 8, x = 1 }
local integer_options = {
    b = true, B = true, h = true, H = true, l = true, L = true, T = true, i = true, I = true,
}
local signed_options = { b = true, h = true, l = true, i = true }

-- getnum(): a decimal count at fmt[i], or df; returns it and the index after it.
local function getnum(fmt, i, df)
    local digits, e = match(fmt, "^(%d+)()", i)
    if not digits then return df, i end
    local a = 0
    for k = 1, #digits do
        local d = byte(digits, k) - 48
        if a > 0x7FFFFFFF // 10 or a * 10 > 0x7FFFFFFF - d then error("integral size overflow", 0) end
        a = a * 10 + d
    end
    return a, e
end

-- optsize(): the size of option opt (0 for the control options); returns it and the next index.
local function optsize(opt, fmt, i)
    if opt == "c" then return getnum(fmt, i, 1) end
    if opt == "i" or opt == "I" then
        local sz, e = getnum(fmt, i, 4)
        if sz > MAXINTSIZE then
            error(format("integral size %d is larger than limit of %d", sz, MAXINTSIZE), 0)
        end
        return sz, e
    end
    return sizes[opt] or 0, i
end

-- gettoalign(): padding before an element of the given size at offset len.
local function gettoalign(len, h, opt, size)
    if size == 0 or opt == "c" then return 0 end
    if size > h.align then size = h.align end
    return (size - (len & (size - 1))) & (size - 1)
end

-- controloptions(): endianness, alignment and spaces; anything else is an invalid option.
local function controloptions(fname, opt, fmt, i, h)
    if opt == " " then
        return i
    elseif opt == ">" then
        h.endian = BIG
    elseif opt == "<" then
        h.endian = LITTLE
    elseif opt == "!" then
        local a, e = getnum(fmt, i, MAXALIGN)
        if a <= 0 or a & (a - 1) ~= 0 then error(format("alignment %d is not a power of 2", a), 0) end
        h.align = a
        return e
    else
        argerror(1, fname, format("invalid format option '%s'", opt))
    end
    return i
end

-- The format string as C sees it: up to the first NUL.
local function cformat(fmt)
    return match(fmt, "^[^%z]*")
end

-- (unsigned long) of a double on x86-64: exact below 2^64, 0 past it, 2^63 for NaN; negative
-- values go through (long), which gives INT64_MIN when they do not fit.
local function touint64(n)
    if n < 0 then
        if n < -2 ^ 63 then return mininteger end
        return tointeger(-floor(-n))
    end
    if n ~= n then return mininteger end
    if n < 2 ^ 63 then return tointeger(floor(n)) end
    if n < 2 ^ 64 then return tointeger(floor(n - 2 ^ 63)) | mininteger end
    return 0
end

-- The C writes the size bytes of a 64-bit value, so bytes past the eighth are zero.
local function putinteger(n, endian, size)
    local value = touint64(n)
    if endian == LITTLE then
        local b = pack("<j", value)
        return size <= 8 and sub(b, 1, size) or b .. rep("\0", size - 8)
    end
    local b = pack(">j", value)
    return size <= 8 and sub(b, 9 - size) or rep("\0", size - 8) .. b
end

local function b_pack(...)
    local fmt = cformat(checkstring(1, "pack", select("#", ...), (...)))
    -- b_pack pushes a nil mark after its arguments, so a missing argument is "got nil"
    local nargs = huge
    local h = { endian = LITTLE, align = 1 }
    local arg = 2
    local parts, np = {}, 0
    local totalsize = 0
    local i = 1
    while i <= #fmt do
        local opt = sub(fmt, i, i)
        local size
        size, i = optsize(opt, fmt, i + 1)
        local toalign = gettoalign(totalsize, h, opt, size)
        totalsize = totalsize + toalign
        if toalign > 0 then
            np = np + 1
            parts[np] = rep("\0", toalign)
        end
        if integer_options[opt] then
            np = np + 1
            parts[np] = putinteger(checknumber(arg, "pack", nargs, (select(arg, ...))), h.endian, size)
            arg = arg + 1
        elseif opt == "x" then
            np = np + 1
            parts[np] = "\0"
        elseif opt == "f" or opt == "d" then
            np = np + 1
            local x = checknumber(arg, "pack", nargs, (select(arg, ...)))
            parts[np] = pack((h.endian == BIG and ">" or "<") .. opt, x)
            arg = arg + 1
        elseif opt == "c" or opt == "s" then
            local s = checkstring(arg, "pack", nargs, (select(arg, ...)))
            arg = arg + 1
            local l = #s
            if size == 0 then size = l end
            -- the C checks after advancing arg, so it names the next argument
            if l < size then argerror(arg, "pack", "string too short") end
            np = np + 1
            parts[np] = sub(s, 1, size)
            if opt == "s" then
                np = np + 1
                parts[np] = "\0"
                size = size + 1
            end
        else
            i = controloptions("pack", opt, fmt, i, h)
        end
        totalsize = totalsize + size
    end
    return concat(parts, "", 1, np)
end

-- getinteger(): C's 64-bit accumulation, so only the 8 least significant bytes count and the
-- sign mask shift is taken modulo 64 for wider formats.
local function getinteger(data, pos, endian, issigned, size)
    local l = 0
    if size > 8 then
        l = unpack(endian == BIG and ">i8" or "<i8", data, endian == BIG and pos + size - 7 or pos + 1)
    elseif size > 0 then
        l = unpack((endian == BIG and ">I" or "<I") .. size, data, pos + 1)
    end
    if not issigned then
        if l < 0 then return l + 2.0 ^ 64 end -- above 2^63: (lua_Number) of the unsigned value
        return l
    end
    local mask = -1 << ((size * 8 - 1) & 63)
    if l & mask ~= 0 then l = l | mask end
    return l
end

-- LUAI_MAXCSTACK in Lua 5.1 bounds the values one C call can leave on its stack.
local LUAI_MAXCSTACK = 8000

local function b_unpack(...)
    local nargs = select("#", ...)
    local fmt_arg, data_arg, init = ...
    local fmt = cformat(checkstring(1, "unpack", nargs, fmt_arg))
    local data = checkstring(2, "unpack", nargs, data_arg)
    local ld = #data
    local pos = optsize_t(3, "unpack", nargs, init, 1)
    if pos == 0 then argerror(3, "unpack", "offset must be 1 or greater") end
    pos = pos - 1
    local h = { endian = LITTLE, align = 1 }
    local results, n = {}, 0
    local i = 1
    while i <= #fmt do
        local opt = sub(fmt, i, i)
        local size
        size, i = optsize(opt, fmt, i + 1)
        pos = pos + gettoalign(pos, h, opt, size)
        if ult(ld, size) or ult(ld - size, pos) then argerror(2, "unpack", "data string too short") end
        if n + 4 > LUAI_MAXCSTACK then error("stack overflow (too many results)", 0) end
        if integer_options[opt] then
            n = n + 1
            results[n] = number51(getinteger(data, pos, h.endian, signed_options[opt], size))
        elseif opt == "x" then
            -- padding only
        elseif opt == "f" or opt == "d" then
            n = n + 1
            results[n] = number51(unpack((h.endian == BIG and ">" or "<") .. opt, data, pos + 1))
        elseif opt == "c" then
            if size == 0 then
                local prev = results[n]
                local count = n > 0 and (type(prev) == "number" and prev
                    or type(prev) == "string" and str2number51(prev))
                if not count then error("format 'c0' needs a previous size", 0) end
                size = optsize_t(0, "unpack", 0, count, 0)
                n = n - 1
                if ult(ld, size) or ult(ld - size, pos) then
                    argerror(2, "unpack", "data string too short")
                end
            end
            n = n + 1
            results[n] = sub(data, pos + 1, pos + size)
        elseif opt == "s" then
            local e = find(data, "\0", pos + 1, true)
            if not e then error("unfinished string in data", 0) end
            size = e - pos
            n = n + 1
            results[n] = sub(data, pos + 1, e - 1)
        else
            i = controloptions("unpack", opt, fmt, i, h)
        end
        pos = pos + size
    end
    n = n + 1
    results[n] = pos + 1
    return table_unpack(results, 1, n)
end

local function b_size(...)
    local nargs = select("#", ...)
    local fmt = cformat(checkstring(1, "size", nargs, (...)))
    local h = { endian = LITTLE, align = 1 }
    local pos = 0
    local i = 1
    while i <= #fmt do
        local opt = sub(fmt, i, i)
        local size
        size, i = optsize(opt, fmt, i + 1)
        pos = pos + gettoalign(pos, h, opt, size)
        if opt == "s" then
            argerror(1, "size", "option 's' has no fixed size")
        elseif opt == "c" and size == 0 then
            argerror(1, "size", "option 'c0' has no fixed size")
        end
        if not find(opt, "^%w") then i = controloptions("size", opt, fmt, i, h) end
        pos = pos + size
    end
    return pos
end

return {
    pack = cfunction(b_pack),
    unpack = cfunction(b_unpack),
    size = cfunction(b_size),
}
