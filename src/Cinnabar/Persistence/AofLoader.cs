// Loading the multi-part AOF (aof.c's loadAppendOnlyFiles and loadSingleAppendOnlyFile): the
// base (RDB format when it starts with "REDIS", else commands), then every incr file in
// manifest order. Commands are replayed by a fake client (createAOFClient) through the
// dispatcher's call(), arguments sliced from the file's bytes; MULTI queues until EXEC so a
// transaction applies whole. A file that ends inside a command, or inside a MULTI, is
// truncated: with aof-load-truncated the last file is cut back to its last complete command
// (and a MULTI without EXEC is undone to before the MULTI), otherwise the load fails; a
// malformed file always fails, with Redis's log lines. A failed load stops the start.
using System.Diagnostics;
using System.Text;
using Cinnabar.Networking;
using Cinnabar.Protocol;

namespace Cinnabar.Persistence;

/// <summary>AOF_OK, AOF_NOT_EXIST, AOF_EMPTY, AOF_OPEN_ERR, AOF_FAILED, AOF_TRUNCATED.</summary>
public enum AofLoadStatus
{
    Ok,
    NotExist,
    Empty,
    OpenErr,
    Failed,
    Truncated,
}

public static class AofLoader
{
    const int AnnotationLineMax = 1024; // AOF_ANNOTATION_LINE_MAX_LEN: fgets reads at most 1023 bytes

    /// <summary>loadAppendOnlyFiles: a pre-7.0 appendonly.aof in `dir` is upgraded first, as Redis decides.</summary>
    public static AofLoadStatus LoadAppendOnlyFiles(CinnabarServer server)
    {
        var aof = server.Aof;
        var am = aof.Manifest;
        string fileName = server.Config.GetString("appendfilename");
        if (File.Exists(Path.Combine(server.Config.Dir, fileName)))
        {
            bool dirMissing = !Directory.Exists(aof.DirPath);
            bool noFiles = am.Base == null && am.Incr.Count == 0;
            bool interrupted = am.Base != null && am.Incr.Count == 0 && am.Base.FileName == fileName && !File.Exists(Path.Combine(aof.DirPath, fileName));
            if (dirMissing || noFiles || interrupted) aof.UpgradePrepare();
        }
        if (am.Base == null && am.Incr.Count == 0) return AofLoadStatus.NotExist;

        long total = 0, baseSize = 0;
        foreach (var ai in BaseAndIncr(am))
        {
            var fi = new FileInfo(Path.Combine(aof.DirPath, ai.FileName));
            if (!fi.Exists)
            {
                server.Log.Warning($"Unable to obtain the AOF file {ai.FileName} length. stat: No such file or directory");
                return AofLoadStatus.Failed;
            }
            total += fi.Length;
        }
        if (total == 0) return AofLoadStatus.Empty;

        server.LoadingProgress.Start(total);
        var ret = AofLoadStatus.Ok;
        try
        {
            int totalNum = am.BaseAndIncrCount, num = 0;
            foreach (var ai in BaseAndIncr(am))
            {
                bool isBase = ai.Type == AofFileType.Base;
                if (isBase) baseSize = new FileInfo(Path.Combine(aof.DirPath, ai.FileName)).Length;
                bool lastFile = ++num == totalNum;
                var sw = Stopwatch.StartNew();
                server.LoadingProgress.BeginFile();
                ret = LoadSingleAppendOnlyFile(server, ai.FileName);
                if (ret == AofLoadStatus.Ok || (ret == AofLoadStatus.Truncated && lastFile))
                    server.Log.Notice($"DB loaded from {(isBase ? "base" : "incr")} file {ai.FileName}: {sw.Elapsed.TotalSeconds:0.000} seconds");
                // Some file has data (total > 0), so an empty one is not an empty AOF.
                if (ret == AofLoadStatus.Empty) ret = AofLoadStatus.Ok;
                if (ret == AofLoadStatus.Truncated && !lastFile)
                {
                    ret = AofLoadStatus.Failed;
                    server.Log.Warning("Fatal error: the truncated file is not the last file");
                }
                if (ret is AofLoadStatus.OpenErr or AofLoadStatus.Failed) return ret;
            }
            aof.SetLoadedSizes(total, baseSize);
            return ret;
        }
        finally
        {
            server.LoadingProgress.Stop();
        }
    }

    static IEnumerable<AofInfo> BaseAndIncr(AofManifest am)
    {
        if (am.Base != null) yield return am.Base;
        foreach (var i in am.Incr) yield return i;
    }

    /// <summary>loadSingleAppendOnlyFile: one file of the AOF, replayed into the dataset.</summary>
    public static AofLoadStatus LoadSingleAppendOnlyFile(CinnabarServer server, string fileName)
    {
        var log = server.Log;
        string path = Path.Combine(server.Aof.DirPath, fileName);
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            log.Warning($"The append log file {fileName} doesn't exist: No such file or directory");
            return AofLoadStatus.NotExist;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Warning($"Fatal error: can't open the append log file {fileName} for reading: {e.Message}");
            return AofLoadStatus.OpenErr;
        }
        if (data.Length == 0) return AofLoadStatus.Empty;

        var oldState = server.Aof.SuspendForLoading();
        var fake = server.Clients.CreateFakeClient();
        try
        {
            return Replay(server, fake, fileName, path, data);
        }
        finally
        {
            server.Transactions.FreeClientMultiState(fake);
            server.Aof.ResumeAfterLoading(oldState);
        }
    }

    static AofLoadStatus Replay(CinnabarServer server, Client fake, string fileName, string path, byte[] data)
    {
        var log = server.Log;
        int pos = 0;
        if (data.Length >= 5 && data.AsSpan(0, 5).SequenceEqual("REDIS"u8))
        {
            bool oldStyle = fileName == server.Config.GetString("appendfilename");
            log.Notice(oldStyle ? "Reading RDB preamble from AOF file..." : "Reading RDB base file on AOF loading...");
            try
            {
                RdbLoader.LoadPreamble(server, data, out pos);
            }
            catch (RdbLoadException e)
            {
                foreach (var line in e.Lines) log.Warning(line);
                log.Warning(oldStyle
                    ? $"Error reading the RDB preamble of the AOF file {fileName}, AOF loading aborted"
                    : $"Error reading the RDB base file {fileName}, AOF loading aborted");
                return AofLoadStatus.Failed;
            }
            if (oldStyle) log.Notice("Reading the remaining AOF tail...");
        }

        var args = new CommandArgs();
        long validUpTo = pos, validBeforeMulti = pos;
        bool loadTruncated = server.Config.AofLoadTruncated;
        while (true)
        {
            if (pos >= data.Length) break;
            var line = ReadLine(data, ref pos);
            if (line[0] == '#') continue; // annotations (#TS:...)
            if (line[0] != '*') return FormatError(log, fileName);
            if (line.Length == 1) return UnexpectedEof(server, fileName, path, validUpTo);
            int argc = Atoi(line[1..]);
            if (argc < 1) return FormatError(log, fileName);
            args.Clear();
            for (int j = 0; j < argc; j++)
            {
                if (pos >= data.Length) return UnexpectedEof(server, fileName, path, validUpTo);
                var lenLine = ReadLine(data, ref pos);
                if (lenLine[0] != '$') return FormatError(log, fileName);
                int len = Atoi(lenLine[1..]);
                if (len < 0 || (long)pos + len > data.Length) return UnexpectedEof(server, fileName, path, validUpTo);
                args.Add(data, pos, len);
                pos += len;
                if (pos + 2 > data.Length) return UnexpectedEof(server, fileName, path, validUpTo);
                pos += 2; // CRLF, not checked (as fread(buf,2,1) does not)
            }
            var cmd = server.Commands.Resolve(args, out _);
            if (cmd == null)
            {
                log.Warning($"Unknown command '{Encoding.Latin1.GetString(args[0])}' reading the append only file {fileName}");
                return AofLoadStatus.Failed;
            }
            bool isExec = cmd.Parent == null && cmd.Name == "exec";
            if (cmd.Parent == null && cmd.Name == "multi") validBeforeMulti = validUpTo;
            fake.Args = args;
            fake.Cmd = fake.LastCmd = cmd;
            if (fake.HasFlag(ClientFlags.Multi) && !isExec) server.Transactions.QueueMultiCommand(fake);
            else server.Dispatcher.Call(fake, cmd);
            fake.Output.Clear(); // the fake client's replies go nowhere
            if (loadTruncated) validUpTo = pos;
            server.LoadingProgress.Progress(pos);
        }
        // EOF inside MULTI: handled as a short read, the unfinished transaction removed.
        if (fake.HasFlag(ClientFlags.Multi))
        {
            log.Warning($"Revert incomplete MULTI/EXEC transaction in AOF file {fileName}");
            return UnexpectedEof(server, fileName, path, validBeforeMulti);
        }
        return AofLoadStatus.Ok;
    }

    /// <summary>fgets(buf, 1024): up to and including the newline, at most 1023 bytes, or what is left.</summary>
    static ReadOnlySpan<byte> ReadLine(byte[] data, ref int pos)
    {
        int max = Math.Min(AnnotationLineMax - 1, data.Length - pos);
        int nl = data.AsSpan(pos, max).IndexOf((byte)'\n');
        int len = nl >= 0 ? nl + 1 : max;
        var line = data.AsSpan(pos, len);
        pos += len;
        return line;
    }

    /// <summary>atoi / strtol: leading digits (after an optional sign), 0 when there are none.</summary>
    static int Atoi(ReadOnlySpan<byte> s)
    {
        int i = 0;
        bool neg = false;
        if (i < s.Length && s[i] is (byte)'-' or (byte)'+') neg = s[i++] == '-';
        long v = 0;
        while (i < s.Length && s[i] >= '0' && s[i] <= '9' && v < int.MaxValue) v = v * 10 + (s[i++] - '0');
        v = Math.Min(v, int.MaxValue);
        return (int)(neg ? -v : v);
    }

    static AofLoadStatus FormatError(Server.Logger log, string fileName)
    {
        log.Warning($"Bad file format reading the append only file {fileName}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>");
        return AofLoadStatus.Failed;
    }

    /// <summary>uxeof: with aof-load-truncated the file is cut at the last complete command and loads; otherwise the load fails.</summary>
    static AofLoadStatus UnexpectedEof(CinnabarServer server, string fileName, string path, long validUpTo)
    {
        var log = server.Log;
        if (server.Config.AofLoadTruncated)
        {
            log.Warning($"!!! Warning: short read while loading the AOF file {fileName}!!!");
            log.Warning($"!!! Truncating the AOF {fileName} at offset {validUpTo} !!!");
            try
            {
                using (var fs = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete)) fs.SetLength(validUpTo);
                log.Warning($"AOF {fileName} loaded anyway because aof-load-truncated is enabled");
                return AofLoadStatus.Truncated;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                log.Warning($"Error truncating the AOF file {fileName}: {e.Message}");
            }
        }
        log.Warning($"Unexpected end of file reading the append only file {fileName}. You can: " +
            "1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. " +
            "2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.");
        return AofLoadStatus.Failed;
    }
}
