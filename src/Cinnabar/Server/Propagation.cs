// The write path's exit (Redis's alsoPropagate, propagatePendingCommands and propagateNow in
// server.c). call() hands every command that changed the dataset (a non-zero dirty delta) here
// in the form Redis propagates it: the argv as executed, or what the handler replaced it with
// (ReplaceArgv: EXPIRE → PEXPIREAT, SPOP → SREM, ...), plus any extra commands it asked for
// (AlsoPropagate). The commands of one execution unit (a command, EXEC, a served blocked
// client) accumulate and leave together when the outermost call() ends, wrapped in MULTI/EXEC
// when there are several. An expired key's DEL joins the running unit, ahead of the command
// that found it (outside one it leaves at once); an evicted key's DEL always leaves at once,
// as in 7.0. Replicas and the AOF are the targets; each emits SELECT when the db changes.
// With no target nothing is serialized: the hot path pays one flag check.
using System.Buffers.Text;
using Cinnabar.Networking;
using Cinnabar.Persistence;
using Cinnabar.Protocol;
using Cinnabar.Replication;

namespace Cinnabar.Server;

/// <summary>Where a propagated command goes (PROPAGATE_AOF, PROPAGATE_REPL): PUBLISH reaches replicas only.</summary>
[Flags]
public enum PropagationTargets
{
    None = 0,
    Aof = 1,
    Repl = 2,
    All = Aof | Repl,
}

public sealed class Propagation
{
    static readonly byte[] Multi = "*1\r\n$5\r\nMULTI\r\n"u8.ToArray(), Exec = "*1\r\n$4\r\nEXEC\r\n"u8.ToArray();

    readonly ReplicationPrimary _replication;
    readonly AppendOnlyFile _aof;

    // server.also_propagate: the serialized commands of the running unit and, per command, its db.
    readonly RespCommandBuffer _pending = new();
    (int Db, int Start, int Length, PropagationTargets Targets)[] _ops = new (int, int, int, PropagationTargets)[8];
    int _opCount;

    // The current call()'s replacement argv (rewriteClientCommandVector) and preventCommandPropagation.
    readonly RespCommandBuffer _rewrites = new();
    readonly ArgvWriter _writer;
    CallState _call;
    int _callDepth; // call()s on the stack: a deletion inside one joins its unit

    public Propagation(ReplicationPrimary replication, AppendOnlyFile aof)
    {
        _replication = replication;
        _aof = aof;
        _writer = new ArgvWriter(this);
    }

    /// <summary>
    /// The targets a call() may feed: All, except inside a script that called redis.set_repl
    /// (the script's commands then reach only the AOF, only the replicas, or nothing).
    /// </summary>
    public PropagationTargets TargetMask = PropagationTargets.All;

    /// <summary>Whether anything consumes the stream (replicas, the AOF): when not, nothing is serialized.</summary>
    public bool Active => _replication.FeedsReplicas || _aof.Active;

    /// <summary>
    /// What one call() has asked for: where its replacement argv starts and its length (-1: none),
    /// whether its own propagation is suppressed, and where it must go even if nothing changed.
    /// </summary>
    public readonly record struct CallState(int RewriteStart, int RewriteLength, bool Prevented, PropagationTargets Forced);

    /// <summary>call() starts: the caller's own replacement (an outer call) is set aside until this call ends.</summary>
    public CallState BeginCall()
    {
        var outer = _call;
        _call = new CallState(_rewrites.Length, -1, false, PropagationTargets.None);
        _callDepth++;
        return outer;
    }

    /// <summary>
    /// call() ends: a command that changed something (dirty &gt; 0) joins the unit as its
    /// replacement argv or as executed; EXEC is never propagated itself (its commands are).
    /// </summary>
    public void EndCall(CallState outer, Client c, long dirty, bool isExec)
    {
        var call = _call;
        var targets = (dirty > 0 ? PropagationTargets.All : call.Forced) & TargetMask;
        if (targets != PropagationTargets.None && !call.Prevented && !isExec && Active)
        {
            if (call.RewriteLength >= 0) AddOp(c.Db.Id, _rewrites.Span.Slice(call.RewriteStart, call.RewriteLength), targets);
            else AddArgv(c.Db.Id, c.Args, targets);
        }
        _rewrites.Truncate(call.RewriteStart);
        _call = outer;
        _callDepth--;
    }

    /// <summary>
    /// rewriteClientCommandVector: the command propagates as the argv written next (argc
    /// arguments) instead of as executed. A no-op writer when nothing consumes the stream.
    /// </summary>
    public ArgvWriter ReplaceArgv(int argc)
    {
        if (!Active) return _writer.Discard();
        // A replacement counts once its last argument is written (CommitReplacement); until then
        // the command propagates as executed, so a half-written one can never reach the stream.
        _rewrites.Truncate(_call.RewriteStart);
        _call = _call with { RewriteLength = -1 };
        return _writer.Start(_rewrites, argc, replacement: true);
    }

    /// <summary>alsoPropagate: an extra command (argc arguments, written next) joins the unit in db.</summary>
    public ArgvWriter AlsoPropagate(int db, int argc)
    {
        if (!Active) return _writer.Discard();
        return _writer.Start(_pending, argc, replacement: false, db);
    }

    /// <summary>preventCommandPropagation: the command itself is not propagated (its AlsoPropagate commands are).</summary>
    public void PreventCommandPropagation() => _call = _call with { Prevented = true };

    /// <summary>forceCommandPropagation: the command propagates even when it changed nothing (FLUSHALL on empty dbs, PUBLISH).</summary>
    public void ForceCommandPropagation(PropagationTargets targets) => _call = _call with { Forced = _call.Forced | targets };

    /// <summary>
    /// propagateDeletion: a key the server removed leaves as DEL or UNLINK. An expired key's
    /// deletion inside a call() joins the unit before the command's own propagation (a SET that
    /// found its key expired goes out as MULTI, DEL, SET, EXEC); an evicted key's, and any
    /// outside a call, leaves at once.
    /// </summary>
    public void PropagateDeletion(int db, ReadOnlySpan<byte> cmd, ReadOnlySpan<byte> key, bool joinUnit)
    {
        if (!Active) return;
        int start = _pending.Length;
        _pending.BeginArray(2);
        _pending.Bulk(cmd);
        _pending.Bulk(key);
        if (joinUnit && _callDepth > 0)
        {
            AddOpAt(db, start, PropagationTargets.All);
            return;
        }
        Feed(db, _pending.Span[start..], PropagationTargets.All);
        _pending.Truncate(start);
    }

    /// <summary>
    /// propagatePendingCommands: the outermost call() ended. One command goes out as it is;
    /// several go inside MULTI/EXEC, MULTI in the first command's db and EXEC in the last's so
    /// no extra SELECT is emitted, unless the command run directly touches arbitrary keys
    /// (SCAN, RANDOMKEY: their DELs go out bare, like active expiry's).
    /// </summary>
    public void PropagatePendingCommands(bool transaction)
    {
        if (_opCount == 0) return;
        bool wrap = _opCount > 1 && transaction;
        if (wrap) Feed(_ops[0].Db, Multi, PropagationTargets.All);
        for (int i = 0; i < _opCount; i++)
        {
            var (db, start, length, targets) = _ops[i];
            Feed(db, _pending.Span.Slice(start, length), targets);
        }
        if (wrap) Feed(_ops[_opCount - 1].Db, Exec, PropagationTargets.All);
        _opCount = 0;
        _pending.Truncate(0);
    }

    /// <summary>propagateNow: to the AOF (feedAppendOnlyFile) and the replicas (replicationFeedSlaves).</summary>
    void Feed(int db, ReadOnlySpan<byte> command, PropagationTargets targets)
    {
        if ((targets & PropagationTargets.Aof) != 0 && _aof.Active) _aof.Feed(db, command);
        if ((targets & PropagationTargets.Repl) != 0) _replication.Feed(db, command);
    }

    void AddArgv(int db, CommandArgs args, PropagationTargets targets)
    {
        int start = _pending.Length;
        _pending.BeginArray(args.Count);
        for (int i = 0; i < args.Count; i++) _pending.Bulk(args[i]);
        AddOpAt(db, start, targets);
    }

    void AddOp(int db, ReadOnlySpan<byte> command, PropagationTargets targets)
    {
        int start = _pending.Length;
        _pending.Raw(command);
        AddOpAt(db, start, targets);
    }

    void AddOpAt(int db, int start, PropagationTargets targets)
    {
        if (_opCount == _ops.Length) Array.Resize(ref _ops, _ops.Length * 2);
        _ops[_opCount++] = (db, start, _pending.Length - start, targets);
    }

    /// <summary>Called by the writer when the last argument of an AlsoPropagate command is written.</summary>
    void CommitAlso(int db, int start) => AddOpAt(db, start, PropagationTargets.All);

    /// <summary>Called by the writer when the last argument of a replacement argv is written.</summary>
    void CommitReplacement(int start) => _call = _call with { RewriteLength = _rewrites.Length - start };

    /// <summary>
    /// Writes one propagated command argument by argument (reused, so rewriting allocates
    /// nothing). It knows its argc and commits the command when the last argument is in.
    /// </summary>
    public sealed class ArgvWriter
    {
        readonly Propagation _owner;
        RespCommandBuffer? _into;
        int _left, _start, _db;
        bool _replacement;

        internal ArgvWriter(Propagation owner) => _owner = owner;

        internal ArgvWriter Discard()
        {
            _into = null;
            return this;
        }

        internal ArgvWriter Start(RespCommandBuffer into, int argc, bool replacement, int db = 0)
        {
            _into = into;
            _left = argc;
            _replacement = replacement;
            _db = db;
            _start = into.Length;
            into.BeginArray(argc);
            return this;
        }

        public ArgvWriter Add(ReadOnlySpan<byte> arg)
        {
            if (_into == null) return this;
            _into.Bulk(arg);
            Next();
            return this;
        }

        public ArgvWriter Add(long value)
        {
            if (_into == null) return this;
            Span<byte> digits = stackalloc byte[20];
            Utf8Formatter.TryFormat(value, digits, out int n);
            return Add(digits[..n]);
        }

        void Next()
        {
            if (--_left > 0) return;
            _into = null;
            if (_replacement) _owner.CommitReplacement(_start);
            else _owner.CommitAlso(_db, _start);
        }
    }
}

/// <summary>A growable buffer of RESP commands (arrays of bulk strings), reused between units.</summary>
sealed class RespCommandBuffer
{
    byte[] _buf = new byte[256];

    public int Length { get; private set; }
    public ReadOnlySpan<byte> Span => _buf.AsSpan(0, Length);

    public void Truncate(int length) => Length = length;

    public void BeginArray(int count) => Header((byte)'*', count);

    public void Bulk(ReadOnlySpan<byte> value)
    {
        Header((byte)'$', value.Length);
        Raw(value);
        Raw("\r\n"u8);
    }

    public void Raw(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buf.AsSpan(Length));
        Length += bytes.Length;
    }

    void Header(byte prefix, int n)
    {
        Ensure(24);
        _buf[Length++] = prefix;
        Utf8Formatter.TryFormat(n, _buf.AsSpan(Length), out int w);
        Length += w;
        _buf[Length++] = (byte)'\r';
        _buf[Length++] = (byte)'\n';
    }

    void Ensure(int more)
    {
        if (Length + more <= _buf.Length) return;
        Array.Resize(ref _buf, Math.Max(_buf.Length * 2, Length + more));
    }
}
