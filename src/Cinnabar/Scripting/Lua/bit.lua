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
local type, next, select, error, pcall, setmetatable, tonumber =
    type, next, select, error, pcall, setmetatable, tonumber
local byte, find, format, lower, sub, match =
    string.byte, string.find, string.format, string.lower, string.sub, string.match
local pack, unpack = string.pack, string.unpack
local huge, math_type = math.huge, math.type

-- The shared support (libsupport.lua): how functions are exposed, 5.1 argument errors, strtod.
local support = env.support
local cfunction, caller, strtod, typeerror =
    support.cfunction, support.caller, support.strtod, support.typeerror

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
