// Keeps the caller's frame for `return redis.call(...)` and its kin, as Lua 5.1 does. Redis's
// error text ends with " script: <sha>, on @user_script:<line>." naming the script line that
// made the failing call; the error handler finds that line in the caller's frame. In Lua 5.1
// redis.call is a C function, and a C function called as `return f(x)` leaves the caller's
// frame in place. Here the raising wrappers are Lua functions (prelude.lua, the libraries), and
// Lua 5.4 really tail-calls them: the script's frame is gone before the error is raised.
// So before compiling, `return lib.f(args)` becomes `return (lib.f(args))` for the functions
// below, which always return exactly one value (the parentheses change nothing else). Only the
// column changes; line numbers stay as written.
namespace Cinnabar.Scripting;

static class ScriptTailCalls
{
    /// <summary>Library functions that raise errors and always return one value.</summary>
    static bool IsSingleResult(string lib, string fn) => lib switch
    {
        "redis" => fn is "call" or "sha1hex" or "error_reply" or "status_reply",
        "cjson" => fn is "encode" or "decode",
        "cmsgpack" => fn is "pack",
        "struct" => fn is "pack" or "size",
        "bit" => true,
        _ => false,
    };

    readonly record struct Token(int Start, int End, TokenKind Kind);

    enum TokenKind { Name, Punct, Other }

    /// <summary>The code with each such tail call parenthesized, or null when there is none.</summary>
    public static byte[]? Rewrite(ReadOnlySpan<byte> code)
    {
        if (code.IndexOf("return"u8) < 0) return null;
        var tokens = Tokenize(code);
        List<int> opens = [], closes = [];
        for (int i = 0; i + 4 < tokens.Count; i++)
        {
            if (!IsName(code, tokens[i], "return")) continue;
            var lib = tokens[i + 1];
            var fn = tokens[i + 3];
            if (lib.Kind != TokenKind.Name || !IsPunct(code, tokens[i + 2], '.') || fn.Kind != TokenKind.Name || !IsPunct(code, tokens[i + 4], '(')) continue;
            if (!IsSingleResult(Text(code, lib), Text(code, fn))) continue;
            int close = MatchingParen(code, tokens, i + 4);
            if (close < 0) continue;
            if (close + 1 < tokens.Count && !EndsReturn(code, tokens[close + 1])) continue;
            opens.Add(lib.Start);
            closes.Add(tokens[close].End);
        }
        if (opens.Count == 0) return null;
        var output = new byte[code.Length + opens.Count * 2];
        int from = 0, to = 0;
        for (int k = 0; k < opens.Count; k++)
        {
            Copy(code, ref from, opens[k], output, ref to);
            output[to++] = (byte)'(';
            Copy(code, ref from, closes[k], output, ref to);
            output[to++] = (byte)')';
        }
        Copy(code, ref from, code.Length, output, ref to);
        return output;
    }

    static void Copy(ReadOnlySpan<byte> code, ref int from, int until, byte[] output, ref int to)
    {
        code[from..until].CopyTo(output.AsSpan(to));
        to += until - from;
        from = until;
    }

    /// <summary>A return statement is the last in its block: only these may follow its expression.</summary>
    static bool EndsReturn(ReadOnlySpan<byte> code, Token t) =>
        IsPunct(code, t, ';') || IsName(code, t, "end") || IsName(code, t, "else") || IsName(code, t, "elseif") || IsName(code, t, "until");

    static int MatchingParen(ReadOnlySpan<byte> code, List<Token> tokens, int open)
    {
        int depth = 0;
        for (int j = open; j < tokens.Count; j++)
        {
            if (IsPunct(code, tokens[j], '(')) depth++;
            else if (IsPunct(code, tokens[j], ')') && --depth == 0) return j;
        }
        return -1;
    }

    static string Text(ReadOnlySpan<byte> code, Token t) => System.Text.Encoding.ASCII.GetString(code[t.Start..t.End]);

    static bool IsName(ReadOnlySpan<byte> code, Token t, string name) =>
        t.Kind == TokenKind.Name && t.End - t.Start == name.Length && Text(code, t) == name;

    static bool IsPunct(ReadOnlySpan<byte> code, Token t, char c) => t.Kind == TokenKind.Punct && code[t.Start] == c;

    /// <summary>Lua's lexical structure, enough to skip comments and strings and see names and brackets.</summary>
    static List<Token> Tokenize(ReadOnlySpan<byte> s)
    {
        var tokens = new List<Token>();
        int i = 0;
        while (i < s.Length)
        {
            byte b = s[i];
            int start = i;
            if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or (byte)'\f' or (byte)'\v') { i++; continue; }
            if (b == '-' && i + 1 < s.Length && s[i + 1] == '-')
            {
                i += 2;
                int level = LongBracketLevel(s, i);
                if (level >= 0) i = SkipLongBracket(s, i, level);
                else while (i < s.Length && s[i] != '\n') i++;
                continue;
            }
            if (b == '[' && LongBracketLevel(s, i) is var lv and >= 0)
            {
                i = SkipLongBracket(s, i, lv);
                tokens.Add(new Token(start, i, TokenKind.Other));
                continue;
            }
            if (b is (byte)'\'' or (byte)'"')
            {
                i++;
                while (i < s.Length && s[i] != b && s[i] != '\n') i += s[i] == '\\' ? 2 : 1;
                i = Math.Min(i + 1, s.Length);
                tokens.Add(new Token(start, i, TokenKind.Other));
                continue;
            }
            if (char.IsAsciiLetter((char)b) || b == '_')
            {
                while (i < s.Length && (char.IsAsciiLetterOrDigit((char)s[i]) || s[i] == '_')) i++;
                tokens.Add(new Token(start, i, TokenKind.Name));
                continue;
            }
            if (char.IsAsciiDigit((char)b) || (b == '.' && i + 1 < s.Length && char.IsAsciiDigit((char)s[i + 1])))
            {
                while (i < s.Length && (char.IsAsciiLetterOrDigit((char)s[i]) || s[i] == '.' || s[i] == '_'
                    || ((s[i] == '+' || s[i] == '-') && (s[i - 1] | 0x20) is (byte)'e' or (byte)'p'))) i++;
                tokens.Add(new Token(start, i, TokenKind.Other));
                continue;
            }
            if (b == '.' && i + 1 < s.Length && s[i + 1] == '.')
            {
                while (i < s.Length && s[i] == '.') i++;
                tokens.Add(new Token(start, i, TokenKind.Other));
                continue;
            }
            tokens.Add(new Token(start, ++i, TokenKind.Punct));
        }
        return tokens;
    }

    /// <summary>At '[': the number of '=' of a long bracket "[==[", or -1 when it is not one.</summary>
    static int LongBracketLevel(ReadOnlySpan<byte> s, int i)
    {
        if (i >= s.Length || s[i] != '[') return -1;
        int j = i + 1;
        while (j < s.Length && s[j] == '=') j++;
        return j < s.Length && s[j] == '[' ? j - i - 1 : -1;
    }

    static int SkipLongBracket(ReadOnlySpan<byte> s, int i, int level)
    {
        int j = i + level + 2;
        while (j < s.Length)
        {
            if (s[j] == ']')
            {
                int k = j + 1, eq = 0;
                while (k < s.Length && s[k] == '=') { k++; eq++; }
                if (eq == level && k < s.Length && s[k] == ']') return k + 1;
            }
            j++;
        }
        return s.Length;
    }
}
