-- cjson: Lua CJSON 2.1.0 as Redis 7.0 ships it (deps/lua/src/lua_cjson.c), in Lua 5.4 for a
-- 5.1 script's view: encode with %.14g numbers, "\/" escaping, the sparse-array rules; decode
-- through the same token scanner with strtod's number syntax; the same configuration functions,
-- depth limits (including 5.1's 8000-slot C stack) and error texts. Integral numbers decode to
-- integers (5.1 has only doubles), -0 stays a float.
-- Still differs from Redis: object members come in Lua 5.4's table order, not 5.1's;
-- encode_keep_buffer is kept and reported but changes nothing (there is no buffer to keep);
-- functions are plain Lua functions, whose errors lack the caller's position when called in
-- tail position (`return f(x)`); with env.c_functions they are exposed the way C functions are
-- (see cfunction), exact there, as callable tables printed "function: 0x..." of type() "table".
-- Argument errors name the function as its caller spelled it, except after a plain function's
-- tail call or from a coroutine the registry does not hold, where the library's name stands in.
local env = ...
local null = env.null

local type, next, select, error, pcall, rawget, rawset = type, next, select, error, pcall, rawget, rawset
local setmetatable, tonumber = setmetatable, tonumber
local byte, char, find, format, gsub, lower, sub, match =
    string.byte, string.char, string.find, string.format, string.gsub, string.lower, string.sub, string.match
local concat = table.concat
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

-- luaL_checkinteger as an int: lua_Number truncated to a 64-bit lua_Integer (x86 gives INT64_MIN
-- for what does not fit), then to the C int the configuration functions keep.
local function checkint(narg, fname, nargs, v)
    local d = v
    if type(v) == "string" then d = str2number51(v) end
    if type(d) ~= "number" then typeerror(narg, fname, "number", nargs, v) end
    local i
    if d ~= d or d >= 2 ^ 63 or d < -2 ^ 63 then
        i = mininteger
    else
        i = tointeger(d >= 0 and floor(d) or -floor(-d))
    end
    i = i & 0xFFFFFFFF
    return i >= 0x80000000 and i - 0x100000000 or i
end

local function checkstring(narg, fname, nargs, v)
    if type(v) == "string" then return v end
    if type(v) == "number" then return format("%.14g", v) end
    typeerror(narg, fname, "string", nargs, v)
end

local T_OBJ_BEGIN, T_OBJ_END, T_ARR_BEGIN, T_ARR_END, T_STRING, T_NUMBER, T_BOOLEAN, T_NULL,
T_COLON, T_COMMA, T_END, T_WHITESPACE, T_ERROR, T_UNKNOWN = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13

local json_token_type_name = {
    [0] = "T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING", "T_NUMBER", "T_BOOLEAN",
    "T_NULL", "T_COLON", "T_COMMA", "T_END", "T_WHITESPACE", "T_ERROR", "T_UNKNOWN",
}

local ch2token = {}
for i = 0, 255 do ch2token[i] = T_ERROR end
ch2token[123], ch2token[125], ch2token[91], ch2token[93] = T_OBJ_BEGIN, T_OBJ_END, T_ARR_BEGIN, T_ARR_END
ch2token[44], ch2token[58], ch2token[0] = T_COMMA, T_COLON, T_END
ch2token[32], ch2token[9], ch2token[10], ch2token[13] = T_WHITESPACE, T_WHITESPACE, T_WHITESPACE, T_WHITESPACE
for c in string.gmatch('fiInNt"+-0123456789', ".") do
    ch2token[byte(c)] = T_UNKNOWN -- needs a closer look
end

local escape2char = {
    [34] = '"', [92] = "\\", [47] = "/", [98] = "\b", [116] = "\t", [110] = "\n", [102] = "\f", [114] = "\r",
}

local char2escape = { ['"'] = '\\"', ["\\"] = "\\\\", ["/"] = "\\/", ["\127"] = "\\u007f" }
for i = 0, 31 do char2escape[char(i)] = format("\\u%04x", i) end
char2escape["\b"], char2escape["\t"], char2escape["\n"], char2escape["\f"], char2escape["\r"] =
    "\\b", "\\t", "\\n", "\\f", "\\r"

-- Lua 5.1's LUAI_MAXCSTACK: lua_checkstack fails past this many slots in one C call, which is
-- what bounds nesting when the configured maximum depth is larger.
local LUAI_MAXCSTACK = 8000

local function codepoint_to_utf8(cp)
    if cp <= 0x7F then
        return char(cp)
    elseif cp <= 0x7FF then
        return char((cp >> 6) | 0xC0, (cp & 0x3F) | 0x80)
    elseif cp <= 0xFFFF then
        return char((cp >> 12) | 0xE0, ((cp >> 6) & 0x3F) | 0x80, (cp & 0x3F) | 0x80)
    end
    return char((cp >> 18) | 0xF0, ((cp >> 12) & 0x3F) | 0x80, ((cp >> 6) & 0x3F) | 0x80, (cp & 0x3F) | 0x80)
end

local function new()
    local cfg = {
        encode_sparse_convert = 0,
        encode_sparse_ratio = 2,
        encode_sparse_safe = 10,
        encode_max_depth = 1000,
        decode_max_depth = 1000,
        encode_invalid_numbers = 0, -- 1: "inf"/"nan", 2: "null"
        decode_invalid_numbers = 1,
        encode_keep_buffer = 1,
        encode_number_precision = 14,
    }

    -- ===== ENCODING =====

    local function encode_exception(v, reason)
        error(format("Cannot serialise %s: %s", is_cfunction(v) and "function" or type(v), reason), 0)
    end

    local function append_number(buf, n, num)
        local invalid = num ~= num or num == huge or num == -huge
        if invalid then
            if cfg.encode_invalid_numbers == 0 then
                encode_exception(num, "must not be NaN or Inf")
            elseif cfg.encode_invalid_numbers == 2 then
                buf[n] = "null"
                return
            elseif num ~= num then
                buf[n] = "nan"
                return
            end
        end
        buf[n] = format("%." .. cfg.encode_number_precision .. "g", num)
    end

    -- lua_array_length(): the array size of a table, or -1 for an object.
    local function array_length(t)
        local max, items = 0, 0
        for k in next, t do
            if type(k) ~= "number" or k ~= floor(k) or k < 1 then return -1 end
            if k > max then max = k < 0x80000000 and k or -0x80000000 end
            items = items + 1
        end
        local ratio = cfg.encode_sparse_ratio
        if ratio > 0 and max > items * ratio and max > cfg.encode_sparse_safe then
            if cfg.encode_sparse_convert == 0 then encode_exception(t, "excessively sparse array") end
            return -1
        end
        return max
    end

    -- Appends v at buf[n + 1 ...]; returns the new n. slots counts the 5.1 stack slots in use.
    local function append_data(buf, n, v, depth, slots)
        local t = type(v)
        if t == "string" then
            n = n + 1
            buf[n] = '"' .. gsub(v, '[%c"\\/]', char2escape) .. '"'
        elseif t == "number" then
            n = n + 1
            append_number(buf, n, v)
        elseif t == "boolean" then
            n = n + 1
            buf[n] = v and "true" or "false"
        elseif t == "table" and not is_cfunction(v) then
            depth = depth + 1
            if depth > cfg.encode_max_depth or slots + 3 > LUAI_MAXCSTACK then
                error(format("Cannot serialise, excessive nesting (%d)", depth), 0)
            end
            local len = array_length(v)
            if len > 0 then
                n = n + 1
                buf[n] = "["
                for i = 1, len do
                    if i > 1 then
                        n = n + 1
                        buf[n] = ","
                    end
                    n = append_data(buf, n, rawget(v, i), depth, slots + 1)
                end
                n = n + 1
                buf[n] = "]"
            else
                n = n + 1
                buf[n] = "{"
                local comma = false
                for k, value in next, v do
                    if comma then
                        n = n + 1
                        buf[n] = ","
                    end
                    comma = true
                    local kt = type(k)
                    if kt == "number" then
                        n = n + 1
                        append_number(buf, n, k)
                        buf[n] = '"' .. buf[n] .. '":'
                    elseif kt == "string" then
                        n = n + 1
                        buf[n] = '"' .. gsub(k, '[%c"\\/]', char2escape) .. '":'
                    else
                        encode_exception(k, "table key must be a number or string")
                    end
                    n = append_data(buf, n, value, depth, slots + 2)
                end
                n = n + 1
                buf[n] = "}"
            end
        elseif v == nil or v == null then
            n = n + 1
            buf[n] = "null"
        else
            encode_exception(v, "type not supported")
        end
        return n
    end

    local function json_encode(...)
        if select("#", ...) ~= 1 then argerror(1, "encode", "expected 1 argument") end
        local buf = {}
        local n = append_data(buf, 0, (...), 0, 1)
        return concat(buf, "", 1, n)
    end

    -- ===== DECODING =====

    local function json_decode(...)
        local nargs = select("#", ...)
        if nargs ~= 1 then argerror(1, "decode", "expected 1 argument") end
        local data = checkstring(1, "decode", nargs, (...))
        if #data >= 2 and (byte(data, 1) == 0 or byte(data, 2) == 0) then
            error("JSON parser does not support UTF-16 or UTF-32", 0)
        end
        local ptr = 1 -- the C parser's json->ptr, 1-based
        local depth, slots = 0, 1

        -- json_is_invalid_number(): forms strtod takes but JSON does not.
        local function is_invalid_number()
            local p = ptr
            local c = byte(data, p)
            if c == 43 then return true end
            if c == 45 then
                p = p + 1
                c = byte(data, p) or 0
            end
            if c == 48 then
                local c2 = byte(data, p + 1) or 0
                return c2 | 0x20 == 120 or (c2 >= 48 and c2 <= 57)
            elseif c <= 57 then
                return false
            end
            local word = lower(sub(data, p, p + 2))
            return word == "inf" or word == "nan"
        end
        local function number_token()
            local index = ptr - 1
            local value, e = strtod(data, ptr)
            if not value then return T_ERROR, "invalid number", index end
            ptr = e
            return T_NUMBER, number51(value), index
        end
        -- Returns the token type, its value (the reason for T_ERROR) and its 0-based index.
        local function next_token()
            local ch = byte(data, ptr) or 0
            local tt = ch2token[ch]
            if tt == T_WHITESPACE then
                ptr = match(data, "^[ \t\n\r]*()", ptr)
                ch = byte(data, ptr) or 0
                tt = ch2token[ch]
            end
            local index = ptr - 1
            if tt == T_ERROR then return T_ERROR, "invalid token", index end
            if tt == T_END then return T_END, nil, index end
            if tt ~= T_UNKNOWN then
                ptr = ptr + 1
                return tt, nil, index
            end
            if ch == 34 then -- string
                ptr = ptr + 1
                local parts, np = {}, 0
                while true do
                    local stop = find(data, '["\\%z]', ptr) or #data + 1
                    if stop > ptr then
                        np = np + 1
                        parts[np] = sub(data, ptr, stop - 1)
                    end
                    ptr = stop
                    local c = byte(data, ptr) or 0
                    if c == 34 then break end
                    if c == 0 then return T_ERROR, "unexpected end of string", ptr - 1 end
                    local e = byte(data, ptr + 1) or 0
                    if e == 117 then -- \uXXXX
                        local cp = tonumber(match(data, "^%x%x%x%x", ptr + 2) or "", 16)
                        local len = 6
                        if cp and cp & 0xF800 == 0xD800 then
                            local low = cp & 0x400 == 0 and match(data, "^\\u(%x%x%x%x)", ptr + 6)
                            low = low and tonumber(low, 16)
                            if low and low & 0xFC00 == 0xDC00 then
                                cp, len = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000, 12
                            else
                                cp = nil
                            end
                        end
                        if not cp then return T_ERROR, "invalid unicode escape code", ptr - 1 end
                        np = np + 1
                        parts[np] = codepoint_to_utf8(cp)
                        ptr = ptr + len
                    else
                        local c2 = escape2char[e]
                        if not c2 then return T_ERROR, "invalid escape code", ptr - 1 end
                        np = np + 1
                        parts[np] = c2
                        ptr = ptr + 2
                    end
                end
                ptr = ptr + 1
                return T_STRING, concat(parts, "", 1, np), index
            end
            if ch == 45 or (ch >= 48 and ch <= 57) then
                if cfg.decode_invalid_numbers == 0 and is_invalid_number() then
                    return T_ERROR, "invalid number", index
                end
                return number_token()
            elseif sub(data, ptr, ptr + 3) == "true" then
                ptr = ptr + 4
                return T_BOOLEAN, true, index
            elseif sub(data, ptr, ptr + 4) == "false" then
                ptr = ptr + 5
                return T_BOOLEAN, false, index
            elseif sub(data, ptr, ptr + 3) == "null" then
                ptr = ptr + 4
                return T_NULL, null, index
            elseif cfg.decode_invalid_numbers ~= 0 and is_invalid_number() then
                return number_token()
            end
            return T_ERROR, "invalid token", index
        end

        local function throw_parse_error(expected, tt, value, index)
            local found = tt == T_ERROR and value or json_token_type_name[tt]
            error(format("Expected %s but found %s at character %d", expected, found, index + 1), 0)
        end

        local function descend(need)
            depth = depth + 1
            if depth > cfg.decode_max_depth or slots + need > LUAI_MAXCSTACK then
                error(format("Found too many nested data structures (%d) at character %d", depth, ptr - 1), 0)
            end
        end

        local process_value

        local function parse_object()
            descend(3)
            local t = {}
            slots = slots + 1
            local tt, value, index = next_token()
            if tt ~= T_OBJ_END then
                while true do
                    if tt ~= T_STRING then throw_parse_error("object key string", tt, value, index) end
                    local key = value
                    tt, value, index = next_token()
                    if tt ~= T_COLON then throw_parse_error("colon", tt, value, index) end
                    slots = slots + 1
                    rawset(t, key, process_value(next_token()))
                    slots = slots - 1
                    tt, value, index = next_token()
                    if tt == T_OBJ_END then break end
                    if tt ~= T_COMMA then throw_parse_error("comma or object end", tt, value, index) end
                    tt, value, index = next_token()
                end
            end
            depth, slots = depth - 1, slots - 1
            return t
        end

        local function parse_array()
            descend(2)
            local t = {}
            slots = slots + 1
            local tt, value, index = next_token()
            if tt ~= T_ARR_END then
                local i = 1
                while true do
                    rawset(t, i, process_value(tt, value, index))
                    tt, value, index = next_token()
                    if tt == T_ARR_END then break end
                    if tt ~= T_COMMA then throw_parse_error("comma or array end", tt, value, index) end
                    tt, value, index = next_token()
                    i = i + 1
                end
            end
            depth, slots = depth - 1, slots - 1
            return t
        end

        process_value = function(tt, value, index)
            if tt == T_STRING or tt == T_NUMBER or tt == T_BOOLEAN or tt == T_NULL then
                return value
            elseif tt == T_OBJ_BEGIN then
                return parse_object()
            elseif tt == T_ARR_BEGIN then
                return parse_array()
            end
            throw_parse_error("value", tt, value, index)
        end

        local result = process_value(next_token())
        local tt, value, index = next_token()
        if tt ~= T_END then throw_parse_error("the end", tt, value, index) end
        return result
    end

    -- ===== CONFIGURATION =====

    -- json_arg_init(): at most nmax arguments.
    local function arg_init(fname, nmax, ...)
        if select("#", ...) > nmax then argerror(nmax + 1, fname, "found too many arguments") end
    end

    -- json_integer_option(); the range check names argument #1 whatever the position, as the C does.
    local function integer_option(fname, narg, nargs, v, key, min, max)
        if v ~= nil then
            local value = checkint(narg, fname, nargs, v)
            if value < min or value > max then
                argerror(1, fname, format("expected integer between %d and %d", min, max))
            end
            cfg[key] = value
        end
        return cfg[key]
    end

    -- json_enum_option() with the "off"/"on" options (or options, indexed from 0) and bool_true 1.
    local function enum_option(fname, narg, nargs, v, key, options)
        options = options or { [0] = "off", "on" }
        if v ~= nil then
            if type(v) == "boolean" then
                cfg[key] = v and 1 or 0
            else
                local name = checkstring(narg, fname, nargs, v)
                local found
                for i = 0, #options do
                    if options[i] == name then found = i end
                end
                if not found then argerror(narg, fname, format("invalid option '%s'", name)) end
                cfg[key] = found
            end
        end
        local setting = cfg[key]
        if setting == 0 or setting == 1 then return setting == 1 end
        return options[setting]
    end

    local function encode_sparse_array(...)
        arg_init("encode_sparse_array", 3, ...)
        local nargs = select("#", ...)
        local convert, ratio, safe = ...
        return enum_option("encode_sparse_array", 1, nargs, convert, "encode_sparse_convert"),
            integer_option("encode_sparse_array", 2, nargs, ratio, "encode_sparse_ratio", 0, 0x7FFFFFFF),
            integer_option("encode_sparse_array", 3, nargs, safe, "encode_sparse_safe", 0, 0x7FFFFFFF)
    end

    local function int_config(fname, key, min, max)
        return function(...)
            arg_init(fname, 1, ...)
            return integer_option(fname, 1, select("#", ...), (...), key, min, max)
        end
    end

    local function enum_config(fname, key, options)
        return function(...)
            arg_init(fname, 1, ...)
            return enum_option(fname, 1, select("#", ...), (...), key, options)
        end
    end

    return {
        encode = cfunction(json_encode),
        decode = cfunction(json_decode),
        encode_sparse_array = cfunction(encode_sparse_array),
        encode_max_depth = cfunction(int_config("encode_max_depth", "encode_max_depth", 1, 0x7FFFFFFF)),
        decode_max_depth = cfunction(int_config("decode_max_depth", "decode_max_depth", 1, 0x7FFFFFFF)),
        encode_number_precision =
            cfunction(int_config("encode_number_precision", "encode_number_precision", 1, 14)),
        encode_keep_buffer = cfunction(enum_config("encode_keep_buffer", "encode_keep_buffer")),
        encode_invalid_numbers = cfunction(enum_config("encode_invalid_numbers", "encode_invalid_numbers",
            { [0] = "off", "on", "null" })),
        decode_invalid_numbers = cfunction(enum_config("decode_invalid_numbers", "decode_invalid_numbers")),
        new = cfunction(function() return new() end),
        null = null,
        _NAME = "cjson",
        _VERSION = "2.1.0",
    }
end

return new()
