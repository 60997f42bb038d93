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
local type, next, select, error, pcall, setmetatable, tonumber =
    type, next, select, error, pcall, setmetatable, tonumber
local byte, char, find, format, lower, sub, match, rep, pack, unpack =
    string.byte, string.char, string.find, string.format, string.lower, string.sub, string.match, string.rep,
    string.pack, string.unpack
local concat, table_unpack = table.concat, table.unpack
local floor, huge, tointeger, mininteger, ult, math_type =
    math.floor, math.huge, math.tointeger, math.mininteger, math.ult, math.type

-- The shared support (libsupport.lua): how functions are exposed, 5.1 argument errors, strtod.
local support = env.support
local cfunction, caller, argerror, typeerror, strtod =
    support.cfunction, support.caller, support.argerror, support.typeerror, support.strtod

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
