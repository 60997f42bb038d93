// Splits an inline command line into arguments with the quoting rules of Redis's sdssplitargs:
// "double quotes" with \n \r \t \b \a \\ \" \xHH escapes, 'single quotes' with \' only, and a
// closing quote must be followed by a space or the end of the line.
namespace Cinnabar.Protocol;

public static class InlineSplitter
{
    public static bool Split(ReadOnlySpan<byte> line, CommandArgs args)
    {
        var results = new List<byte[]>();
        if (!Split(line, results)) return false;
        foreach (var r in results) args.Add(r);
        return true;
    }

    public static bool Split(ReadOnlySpan<byte> line, List<byte[]> results)
    {
        int p = 0;
        var current = new List<byte>();
        while (true)
        {
            while (p < line.Length && IsSpace(line[p])) p++;
            if (p >= line.Length) return true;
            bool inDq = false, inSq = false, done = false;
            current.Clear();
            while (!done)
            {
                if (inDq)
                {
                    if (p >= line.Length) return false;
                    byte c = line[p];
                    if (c == '\\' && p + 3 < line.Length && line[p + 1] == 'x' && IsHex(line[p + 2]) && IsHex(line[p + 3]))
                    {
                        current.Add((byte)(HexVal(line[p + 2]) * 16 + HexVal(line[p + 3])));
                        p += 3;
                    }
                    else if (c == '\\' && p + 1 < line.Length)
                    {
                        p++;
                        current.Add(line[p] switch
                        {
                            (byte)'n' => (byte)'\n',
                            (byte)'r' => (byte)'\r',
                            (byte)'t' => (byte)'\t',
                            (byte)'b' => (byte)'\b',
                            (byte)'a' => (byte)'\a',
                            var other => other,
                        });
                    }
                    else if (c == '"')
                    {
                        if (p + 1 < line.Length && !IsSpace(line[p + 1])) return false;
                        done = true;
                    }
                    else current.Add(c);
                }
                else if (inSq)
                {
                    if (p >= line.Length) return false;
                    byte c = line[p];
                    if (c == '\\' && p + 1 < line.Length && line[p + 1] == '\'')
                    {
                        p++;
                        current.Add((byte)'\'');
                    }
                    else if (c == '\'')
                    {
                        if (p + 1 < line.Length && !IsSpace(line[p + 1])) return false;
                        done = true;
                    }
                    else current.Add(c);
                }
                else
                {
                    if (p >= line.Length) { done = true; break; }
                    byte c = line[p];
                    switch (c)
                    {
                        case (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t' or 0:
                            done = true;
                            break;
                        case (byte)'"':
                            inDq = true;
                            break;
                        case (byte)'\'':
                            inSq = true;
                            break;
                        default:
                            current.Add(c);
                            break;
                    }
                }
                if (p < line.Length) p++;
            }
            results.Add(current.ToArray());
        }
    }

    static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t' or (byte)'\v' or (byte)'\f';
    static bool IsHex(byte c) => c is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';
    static int HexVal(byte c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
