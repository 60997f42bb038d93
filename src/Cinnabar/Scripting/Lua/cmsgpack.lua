-- cmsgpack: lua-cmsgpack 0.4.0 as Redis 7.0 ships it (deps/lua/src/lua_cmsgpack.c built for Lua
-- 5.1 on 64-bit), in Lua 5.4 for a 5.1 script's view: integral numbers pack as the smallest
-- MessagePack int, others as float when the float is exact, else double; strings as fixraw/str8/
-- raw16/raw32; tables as arrays when their keys are exactly 1..n, else maps; tables nested 16 deep
-- and values without a MessagePack form as nil. unpack/unpack_one/unpack_limit return the same
-- values and next offsets, with Lua 5.1's stack limits ("too many return values at once ...").
-- Decoded integers are Lua integers (uint64 above 2^63 wraps negative as in Redis).
-- Still differs from Redis: map entries come in Lua 5.4's table order, not 5.1's; "table index
-- is nil/NaN" (a map with a nil or NaN key) carries the caller's position, which Redis's lacks;
-- the 5.1 stack limit can be off by one for input that ends early with maps nested ~8000 deep;
-- functions are plain Lua functions, whose errors lack the caller's position when called in
-- tail position (`return f(x)`); with env.c_functions they are exposed the way C functions are
-- (see cfunction), exact there, as callable tables printed "function: 0x..." of type() "table".
-- Argument errors name the function as its caller spelled it, except after a plain function's
-- tail call or from a coroutine the registry does not hold, where the library's name stands in.
local env = ...
local type, next, select, error, pcall, rawget, rawset, rawlen =
    type, next, select, error, pcall, rawget, rawset, rawlen
local setmetatable, tonumber = setmetatable, tonumber
local byte, char, find, format, lower, sub, match = string.byte, string.char, string.find, string.format,
    string.lower, string.sub, string.match
local pack, unpack, packsize = string.pack, string.unpack, string.packsize
local concat, table_unpack = table.concat, table.unpack
local floor, huge, tointeger, mininteger, math_type =
    math.floor, math.huge, math.tointeger, math.mininteger, math.type

-- The shared support (libsupport.lua): how functions are exposed, 5.1 argument errors, strtod.
local support = env.support
local cfunction, caller, argerror, typeerror, strtod, is_cfunction =
    support.cfunction, support.caller, support.argerror, support.typeerror, support.strtod, support.is_cfunction

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

local function checkstring(narg, fname, nargs, v)
    if type(v) == "string" then return v end
    if type(v) == "number" then return format("%.14g", v) end
    typeerror(narg, fname, "string", nargs, v)
end

-- luaL_checkinteger / luaL_optinteger: the lua_Number truncated to a 64-bit lua_Integer.
local function checkinteger(narg, fname, nargs, v)
    local d = v
    if type(v) == "string" then d = str2number51(v) end
    if type(d) ~= "number" then typeerror(narg, fname, "number", nargs, v) end
    if d ~= d or d >= 2 ^ 63 or d < -2 ^ 63 then return mininteger end
    return tointeger(d >= 0 and floor(d) or -floor(-d))
end

-- The C's (int) of a 64-bit value, for its "%d" messages.
local function int32(i)
    i = i & 0xFFFFFFFF
    return i >= 0x80000000 and i - 0x100000000 or i
end

local LUACMSGPACK_MAX_NESTING = 16
-- Lua 5.1's LUAI_MAXCSTACK: luaL_checkstack fails past this many slots in one C call.
local LUAI_MAXCSTACK = 8000

-- ----------------------------- Encoding -----------------------------

local function encode_bytes(buf, n, s)
    local len = #s
    if len < 32 then
        buf[n + 1] = char(0xa0 | len)
    elseif len <= 0xff then
        buf[n + 1] = char(0xd9, len)
    elseif len <= 0xffff then
        buf[n + 1] = pack(">BI2", 0xda, len)
    else
        buf[n + 1] = pack(">BI4", 0xdb, len)
    end
    buf[n + 2] = s
    return n + 2
end

local function encode_int(buf, n, i)
    local b
    if i >= 0 then
        if i <= 127 then
            b = char(i)
        elseif i <= 0xff then
            b = char(0xcc, i)
        elseif i <= 0xffff then
            b = pack(">BI2", 0xcd, i)
        elseif i <= 0xffffffff then
            b = pack(">BI4", 0xce, i)
        else
            b = pack(">Bi8", 0xcf, i)
        end
    else
        if i >= -32 then
            b = char(i & 0xff)
        elseif i >= -128 then
            b = char(0xd0, i & 0xff)
        elseif i >= -32768 then
            b = pack(">Bi2", 0xd1, i)
        elseif i >= -2147483648 then
            b = pack(">Bi4", 0xd2, i)
        else
            b = pack(">Bi8", 0xd3, i)
        end
    end
    buf[n + 1] = b
    return n + 1
end

-- mp_encode_lua_number: an int when (int64_t)n == n, else a float when (float)n == n, else a double.
local function encode_number(buf, n, x)
    if math_type(x) == "integer" then return encode_int(buf, n, x) end
    if x == floor(x) and x >= -2 ^ 63 and x < 2 ^ 63 then return encode_int(buf, n, tointeger(x)) end
    local f = pack(">f", x)
    if unpack(">f", f) == x then
        buf[n + 1] = "\xca" .. f
    else
        buf[n + 1] = pack(">Bd", 0xcb, x)
    end
    return n + 1
end

local function encode_header(buf, n, count, fix, op16, op32)
    if count <= 15 then
        buf[n + 1] = char(fix | count)
    elseif count <= 65535 then
        buf[n + 1] = pack(">BI2", op16, count)
    else
        buf[n + 1] = pack(">BI4", op32, count & 0xffffffff)
    end
    return n + 1
end

-- table_is_an_array(): every key a number that is an int > 0, and the largest equals the count.
local function table_is_an_array(t)
    local count, max = 0, 0
    for k in next, t do
        if type(k) ~= "number" or k <= 0 or k ~= floor(k) or k >= 0x80000000 then return false end
        if k > max then max = k end
        count = count + 1
    end
    return max == count
end

local encode_lua_type

local function encode_table(buf, n, t, level)
    if table_is_an_array(t) then
        local len = rawlen(t)
        n = encode_header(buf, n, len, 0x90, 0xdc, 0xdd)
        for j = 1, len do
            n = encode_lua_type(buf, n, rawget(t, j), level + 1)
        end
    else
        local len = 0
        for _ in next, t do len = len + 1 end
        n = encode_header(buf, n, len, 0x80, 0xde, 0xdf)
        for k, v in next, t do
            n = encode_lua_type(buf, n, k, level + 1)
            n = encode_lua_type(buf, n, v, level + 1)
        end
    end
    return n
end

encode_lua_type = function(buf, n, v, level)
    local t = type(v)
    if t == "table" and (level == LUACMSGPACK_MAX_NESTING or is_cfunction(v)) then t = "nil" end
    if t == "string" then
        return encode_bytes(buf, n, v)
    elseif t == "boolean" then
        buf[n + 1] = v and "\xc3" or "\xc2"
        return n + 1
    elseif t == "number" then
        return encode_number(buf, n, v)
    elseif t == "table" then
        return encode_table(buf, n, v, level)
    end
    buf[n + 1] = "\xc0"
    return n + 1
end

local function mp_pack(...)
    local nargs = select("#", ...)
    if nargs == 0 then argerror(0, "pack", "MessagePack pack needs input.") end
    if nargs + nargs > LUAI_MAXCSTACK then argerror(0, "pack", "Too many arguments for MessagePack pack.") end
    local buf, n = {}, 0
    for i = 1, nargs do
        n = encode_lua_type(buf, n, (select(i, ...)), 0)
    end
    return concat(buf, "", 1, n)
end

-- ----------------------------- Decoding -----------------------------

local EOF, BADFMT = {}, {} -- thrown by the decoder, turned into the C's messages by mp_unpack_full

local function overflow(what)
    error(format("stack overflow (%s)", what), 0)
end

local TOO_MANY = "too many return values at once; use unpack_one or unpack_limit instead."

-- Decodes the object at s[p] (1-based); returns the value and the next position. slots counts
-- the 5.1 stack slots the C would be using, for its luaL_checkstack failures.
local decode_to_lua_type

-- uint 64 reads as a signed 64-bit value: the C pushes it as a lua_Integer, so it wraps.
local int_formats = {
    [0xcc] = ">B", [0xd0] = ">b", [0xcd] = ">I2", [0xd1] = ">i2", [0xce] = ">I4", [0xd2] = ">i4",
    [0xcf] = ">i8", [0xd3] = ">i8",
}

local function need(s, p, len)
    if #s - p + 1 < len then error(EOF, 0) end
end

local function decode_array(s, p, len, slots)
    if slots + 2 > LUAI_MAXCSTACK then overflow("in function mp_decode_to_lua_array") end
    local t = {}
    for index = 1, len do
        local v
        v, p = decode_to_lua_type(s, p, slots + 2)
        t[index] = v
    end
    return t, p
end

local function decode_hash(s, p, len, slots)
    local t = {}
    for _ = 1, len do
        local k, v
        k, p = decode_to_lua_type(s, p, slots + 1)
        v, p = decode_to_lua_type(s, p, slots + 2)
        if k == nil then error("table index is nil", 0) end
        if k ~= k then error("table index is NaN", 0) end
        t[k] = v
    end
    return t, p
end

decode_to_lua_type = function(s, p, slots)
    need(s, p, 1)
    if slots + 1 > LUAI_MAXCSTACK then overflow(TOO_MANY) end
    local c = byte(s, p)
    if c < 0x80 then -- positive fixnum
        return c, p + 1
    elseif c >= 0xe0 then -- negative fixnum
        return c - 0x100, p + 1
    elseif c >= 0xa0 and c <= 0xbf then -- fix raw
        local l = c & 0x1f
        need(s, p, 1 + l)
        return sub(s, p + 1, p + l), p + 1 + l
    elseif c >= 0x90 and c <= 0x9f then -- fix array
        return decode_array(s, p + 1, c & 0xf, slots)
    elseif c >= 0x80 and c <= 0x8f then -- fix map
        return decode_hash(s, p + 1, c & 0xf, slots)
    elseif c == 0xc0 then
        return nil, p + 1
    elseif c == 0xc2 then
        return false, p + 1
    elseif c == 0xc3 then
        return true, p + 1
    elseif int_formats[c] then
        local fmt = int_formats[c]
        local size = 1 + packsize(fmt)
        need(s, p, size)
        return unpack(fmt, s, p + 1), p + size
    elseif c == 0xca then
        need(s, p, 5)
        return number51(unpack(">f", s, p + 1)), p + 5
    elseif c == 0xcb then
        need(s, p, 9)
        return number51(unpack(">d", s, p + 1)), p + 9
    elseif c == 0xd9 or c == 0xda or c == 0xdb then
        local hdr = c == 0xd9 and 1 or c == 0xda and 2 or 4
        need(s, p, 1 + hdr)
        local l = unpack(">I" .. hdr, s, p + 1)
        need(s, p, 1 + hdr + l)
        return sub(s, p + 1 + hdr, p + hdr + l), p + 1 + hdr + l
    elseif c == 0xdc or c == 0xdd then
        local hdr = c == 0xdc and 2 or 4
        need(s, p, 1 + hdr)
        return decode_array(s, p + 1 + hdr, unpack(">I" .. hdr, s, p + 1), slots)
    elseif c == 0xde or c == 0xdf then
        local hdr = c == 0xde and 2 or 4
        need(s, p, 1 + hdr)
        return decode_hash(s, p + 1 + hdr, unpack(">I" .. hdr, s, p + 1), slots)
    end
    error(BADFMT, 0)
end

-- mp_unpack_full(): limit 0 and offset 0 decode everything and return only the values; otherwise
-- the next offset (-1 at the end of input) comes first.
local function unpack_full(s, limit, offset)
    local len = #s
    if offset < 0 or limit < 0 then
        -- the C prints the input length as the limit
        local msg = "Invalid request to unpack with offset of %d and limit of %d."
        error(format(msg, int32(offset), int32(len)), 0)
    elseif offset > len then
        error(format("Start offset %d greater than input length %d.", int32(offset), int32(len)), 0)
    end
    local decode_all = limit == 0 and offset == 0
    if decode_all then limit = 0x7FFFFFFF end
    local results, cnt = {}, 0
    local p = offset + 1
    while p <= len and cnt < limit do
        local ok, v, np = pcall(decode_to_lua_type, s, p, 1 + cnt)
        if not ok then
            if v == EOF then error("Missing bytes in input.", 0) end
            if v == BADFMT then error("Bad data format in input.", 0) end
            error(v, 0)
        end
        cnt = cnt + 1
        results[cnt] = v
        p = np
    end
    if decode_all then return table_unpack(results, 1, cnt) end
    return p > len and -1 or p - 1, table_unpack(results, 1, cnt)
end

local function mp_unpack(...)
    return unpack_full(checkstring(1, "unpack", select("#", ...), (...)), 0, 0)
end

local function mp_unpack_one(...)
    local nargs = select("#", ...)
    local s, offset = ...
    offset = offset == nil and 0 or checkinteger(2, "unpack_one", nargs, offset)
    return unpack_full(checkstring(1, "unpack_one", nargs, s), 1, offset)
end

local function mp_unpack_limit(...)
    local nargs = select("#", ...)
    local s, limit, offset = ...
    limit = checkinteger(2, "unpack_limit", nargs, limit)
    offset = offset == nil and 0 or checkinteger(3, "unpack_limit", nargs, offset)
    return unpack_full(checkstring(1, "unpack_limit", nargs, s), limit, offset)
end

return {
    pack = cfunction(mp_pack),
    unpack = cfunction(mp_unpack),
    unpack_one = cfunction(mp_unpack_one),
    unpack_limit = cfunction(mp_unpack_limit),
    _NAME = "cmsgpack",
    _VERSION = "lua-cmsgpack 0.4.0",
    _COPYRIGHT = "Copyright (C) 2012, Salvatore Sanfilippo",
    _DESCRIPTION = "MessagePack C implementation for Lua",
}
