// The multi-part AOF's manifest (aof.c's aofManifest and aofInfo): which files make up the AOF
// in `appenddirname` — at most one BASE (the dataset at the last rewrite, `.base.rdb` or
// `.base.aof`), the ordered INCR files written since, and HISTORY files a finished rewrite left
// to delete. One line per file, "file <name> seq <n> type <b|h|i>", names quoted as sdscatrepr
// when they need it. Parsed with aofLoadManifestFromFile's checks and messages; written by the
// AOF through a temp file, fsync, rename and directory fsync, so a crash leaves one or the other.
using System.Globalization;
using System.Text;

namespace Cinnabar.Persistence;

/// <summary>An AOF file's role in the manifest (AOF_FILE_TYPE_BASE / _HIST / _INCR).</summary>
public enum AofFileType : byte
{
    Base = (byte)'b',
    History = (byte)'h',
    Incr = (byte)'i',
}

/// <summary>aofInfo: one manifest line.</summary>
public sealed class AofInfo(string fileName, long seq, AofFileType type)
{
    public string FileName = fileName;
    public long Seq = seq;
    public AofFileType Type = type;

    public AofInfo Dup() => new(FileName, Seq, Type);
}

/// <summary>Loading or writing the AOF failed fatally; Lines are what Redis logs for it, in order.</summary>
public sealed class AofException(params string[] lines) : Exception(string.Join(" ", lines))
{
    public IReadOnlyList<string> Lines { get; } = lines;
}

public sealed class AofManifest
{
    public const string BaseSuffix = ".base", IncrSuffix = ".incr", RdbSuffix = ".rdb", AofSuffix = ".aof";
    public const string ManifestSuffix = ".manifest", TempPrefix = "temp-";
    const int MaxLine = 1024; // MANIFEST_MAX_LINE

    public AofInfo? Base;
    public List<AofInfo> Incr = [];
    public List<AofInfo> History = [];
    public long CurrBaseFileSeq, CurrIncrFileSeq;

    /// <summary>Changed since it was last persisted (persistAofManifest skips a clean one).</summary>
    public bool Dirty;

    public static string ManifestName(string aofFilename) => aofFilename + ManifestSuffix;
    public static string TempManifestName(string aofFilename) => TempPrefix + aofFilename + ManifestSuffix;

    /// <summary>getTempIncrAofName: where writes accumulate while AOF waits for its first rewrite (AOF_WAIT_REWRITE).</summary>
    public static string TempIncrName(string aofFilename) => TempPrefix + aofFilename + IncrSuffix;

    public AofManifest Dup() => new()
    {
        Base = Base?.Dup(),
        Incr = Incr.Select(i => i.Dup()).ToList(),
        History = History.Select(i => i.Dup()).ToList(),
        CurrBaseFileSeq = CurrBaseFileSeq,
        CurrIncrFileSeq = CurrIncrFileSeq,
        Dirty = Dirty,
    };

    /// <summary>getBaseAndIncrAppendOnlyFilesNum.</summary>
    public int BaseAndIncrCount => (Base != null ? 1 : 0) + Incr.Count;

    /// <summary>getNewBaseFileNameAndMarkPreAsHistory: "&lt;appendfilename&gt;.&lt;seq&gt;.base.rdb|aof"; the old base becomes history.</summary>
    public string NewBaseFileNameAndMarkPreAsHistory(string aofFilename, bool rdbPreamble)
    {
        if (Base != null)
        {
            Base.Type = AofFileType.History;
            History.Insert(0, Base);
        }
        var name = $"{aofFilename}.{++CurrBaseFileSeq}{BaseSuffix}{(rdbPreamble ? RdbSuffix : AofSuffix)}";
        Base = new AofInfo(name, CurrBaseFileSeq, AofFileType.Base);
        Dirty = true;
        return name;
    }

    /// <summary>getNewIncrAofName: "&lt;appendfilename&gt;.&lt;seq&gt;.incr.aof", appended to the incr list.</summary>
    public string NewIncrAofName(string aofFilename)
    {
        var name = $"{aofFilename}.{++CurrIncrFileSeq}{IncrSuffix}{AofSuffix}";
        Incr.Add(new AofInfo(name, CurrIncrFileSeq, AofFileType.Incr));
        Dirty = true;
        return name;
    }

    /// <summary>getLastIncrAofName: the incr file writes continue in (a new one when there is none).</summary>
    public string LastIncrAofName(string aofFilename) => Incr.Count == 0 ? NewIncrAofName(aofFilename) : Incr[^1].FileName;

    /// <summary>
    /// markRewrittenIncrAofAsHistory: after a rewrite every incr file but the one being written
    /// (when the AOF is open) is covered by the new base and becomes history.
    /// </summary>
    public void MarkRewrittenIncrAofAsHistory(bool aofOpen)
    {
        if (Incr.Count == 0) return;
        int keep = aofOpen ? 1 : 0;
        for (int i = Incr.Count - 1 - keep; i >= 0; i--)
        {
            var h = Incr[i].Dup();
            h.Type = AofFileType.History;
            History.Insert(0, h);
            Incr.RemoveAt(i);
        }
        Dirty = true;
    }

    /// <summary>getAofManifestAsString: the base first, then history, then incr files.</summary>
    public string Format()
    {
        var sb = new StringBuilder();
        if (Base != null) FormatLine(sb, Base);
        foreach (var h in History) FormatLine(sb, h);
        foreach (var i in Incr) FormatLine(sb, i);
        return sb.ToString();
    }

    static void FormatLine(StringBuilder sb, AofInfo ai) =>
        sb.Append("file ").Append(NeedsRepr(ai.FileName) ? Repr(ai.FileName) : ai.FileName)
            .Append(" seq ").Append(ai.Seq.ToString(CultureInfo.InvariantCulture))
            .Append(" type ").Append((char)ai.Type).Append('\n');

    /// <summary>
    /// aofLoadManifestFromFile over the file's bytes: every check Redis makes, failing with its
    /// log lines (the line number and text when a line is at fault).
    /// </summary>
    public static AofManifest Parse(byte[] data)
    {
        var am = new AofManifest();
        long maxSeq = 0;
        int linenum = 0, pos = 0;
        while (true)
        {
            if (pos >= data.Length)
            {
                if (linenum == 0) throw Error("Found an empty AOF manifest", null, 0);
                break;
            }
            // fgets(buf, MANIFEST_MAX_LINE+1): up to the newline, at most 1024 bytes.
            int nl = Array.IndexOf(data, (byte)'\n', pos, Math.Min(MaxLine, data.Length - pos));
            int end = nl >= 0 ? nl + 1 : Math.Min(pos + MaxLine, data.Length);
            string raw = Encoding.Latin1.GetString(data, pos, end - pos);
            pos = end;
            linenum++;
            if (raw[0] == '#') continue;
            if (nl < 0) throw Error("The AOF manifest file contains too long line", null, linenum);
            string line = raw.Trim(' ', '\t', '\r', '\n');
            if (line.Length == 0) throw Error("Invalid AOF manifest file format", line, linenum);
            var argv = SplitArgs(line);
            if (argv == null || argv.Count < 6 || argv.Count % 2 != 0) throw Error("Invalid AOF manifest file format", line, linenum);
            string? name = null;
            long seq = 0;
            char type = '\0';
            for (int i = 0; i < argv.Count; i += 2)
            {
                if (argv[i].Equals("file", StringComparison.OrdinalIgnoreCase))
                {
                    name = argv[i + 1];
                    if (name.Contains('/')) throw Error("File can't be a path, just a filename", line, linenum);
                }
                else if (argv[i].Equals("seq", StringComparison.OrdinalIgnoreCase)) seq = Commands.Arguments.Atoi(argv[i + 1]);
                else if (argv[i].Equals("type", StringComparison.OrdinalIgnoreCase)) type = argv[i + 1].Length > 0 ? argv[i + 1][0] : '\0';
            }
            if (string.IsNullOrEmpty(name) || seq == 0 || type == '\0') throw Error("Invalid AOF manifest file format", line, linenum);
            var ai = new AofInfo(name, seq, (AofFileType)type);
            switch (type)
            {
                case 'b':
                    if (am.Base != null) throw Error("Found duplicate base file information", line, linenum);
                    am.Base = ai;
                    am.CurrBaseFileSeq = seq;
                    break;
                case 'h':
                    am.History.Add(ai);
                    break;
                case 'i':
                    if (seq <= maxSeq) throw Error("Found a non-monotonic sequence number", line, linenum);
                    am.Incr.Add(ai);
                    am.CurrIncrFileSeq = seq;
                    maxSeq = seq;
                    break;
                default:
                    throw Error("Unknown AOF file type", line, linenum);
            }
        }
        return am;
    }

    static AofException Error(string err, string? line, int linenum)
    {
        var lines = new List<string> { "", "*** FATAL AOF MANIFEST FILE ERROR ***" };
        if (line != null)
        {
            lines.Add($"Reading the manifest file, at line {linenum}");
            lines.Add($">>> '{line}'");
        }
        lines.Add(err);
        return new AofException([.. lines]);
    }

    /// <summary>sdsneedsrepr: a name with spaces, quotes, backslashes or unprintable bytes is written quoted.</summary>
    static bool NeedsRepr(string s)
    {
        foreach (char ch in s)
            if (ch is '\\' or '"' or '\n' or '\r' or '\t' or '\a' or '\b' or ' ' or '\v' or '\f' || ch < 32 || ch > 126) return true;
        return false;
    }

    /// <summary>sdscatrepr: the string in double quotes with C escapes.</summary>
    static string Repr(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (char ch in s)
        {
            switch (ch)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\a': sb.Append("\\a"); break;
                case '\b': sb.Append("\\b"); break;
                default:
                    if (ch >= 32 && ch <= 126) sb.Append(ch);
                    else sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)ch:x2}");
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>sdssplitargs: space-separated arguments, "..." with C escapes and '...' quoted; null on unbalanced quotes.</summary>
    public static List<string>? SplitArgs(string line)
    {
        var args = new List<string>();
        int p = 0;
        while (true)
        {
            while (p < line.Length && char.IsWhiteSpace(line[p])) p++;
            if (p >= line.Length) return args;
            var cur = new StringBuilder();
            bool inq = false, insq = false;
            while (true)
            {
                if (inq)
                {
                    if (p >= line.Length) return null;
                    if (line[p] == '\\' && p + 3 < line.Length && line[p + 1] == 'x' && Uri.IsHexDigit(line[p + 2]) && Uri.IsHexDigit(line[p + 3]))
                    {
                        cur.Append((char)Convert.ToByte(line.Substring(p + 2, 2), 16));
                        p += 3;
                    }
                    else if (line[p] == '\\' && p + 1 < line.Length)
                    {
                        p++;
                        cur.Append(line[p] switch { 'n' => '\n', 'r' => '\r', 't' => '\t', 'b' => '\b', 'a' => '\a', var c => c });
                    }
                    else if (line[p] == '"')
                    {
                        // The closing quote must be followed by a space or nothing.
                        if (p + 1 < line.Length && !char.IsWhiteSpace(line[p + 1])) return null;
                        p++;
                        break;
                    }
                    else cur.Append(line[p]);
                }
                else if (insq)
                {
                    if (p >= line.Length) return null;
                    if (line[p] == '\\' && p + 1 < line.Length && line[p + 1] == '\'')
                    {
                        p++;
                        cur.Append('\'');
                    }
                    else if (line[p] == '\'')
                    {
                        if (p + 1 < line.Length && !char.IsWhiteSpace(line[p + 1])) return null;
                        p++;
                        break;
                    }
                    else cur.Append(line[p]);
                }
                else
                {
                    if (p >= line.Length || char.IsWhiteSpace(line[p])) break;
                    if (line[p] == '"') inq = true;
                    else if (line[p] == '\'') insq = true;
                    else cur.Append(line[p]);
                }
                p++;
            }
            args.Add(cur.ToString());
        }
    }
}
