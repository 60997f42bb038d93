// Key extraction from Redis 7.0's key specs over the whole command table (implemented or not),
// as COMMAND GETKEYS, client tracking and cluster routing use it; the allocation-free form over
// the dispatcher's argument vector agrees with the list form it replaced (ListKeySpecs).
using System.Text;
using Cinnabar.Commands;
using Cinnabar.Protocol;

namespace Cinnabar.Tests.Commands;

public class KeySpecsTests
{
    static readonly CommandTable Table = CommandTable.LoadDefault();

    /// <summary>The keys found in argv (null when the arguments are invalid for the specs).</summary>
    static List<KeyReference>? KeyRefs(string[] argv)
    {
        var result = new GetKeysResult();
        return KeySpecs.GetKeys(Table.LookupAny(argv[0])!, ArgsOf(argv), result) < 0 ? null : result.Keys.ToArray().ToList();
    }

    static string? Keys(params string[] argv)
    {
        var keys = KeyRefs(argv);
        return keys == null ? null : string.Join(",", keys.Select(k => argv[k.Pos]));
    }

    [Fact]
    public void RangeSpecsWithStepAndNegativeLastKey()
    {
        Assert.Equal("a,b", Keys("mset", "a", "1", "b", "2"));
        Assert.Equal("a,b,c", Keys("del", "a", "b", "c"));
        Assert.Equal("a,b", Keys("blpop", "a", "b", "0"));
    }

    [Fact]
    public void KeynumSpecsReadTheCount()
    {
        Assert.Equal("d,a,b", Keys("zunionstore", "d", "2", "a", "b"));
        Assert.Null(Keys("zunionstore", "d", "5", "a", "b"));
        Assert.Equal("a,b", Keys("eval", "return 1", "2", "a", "b", "x"));
        Assert.Null(Keys("eval", "return 1", "0"));
        Assert.Null(Keys("lmpop", "x", "a", "left"));
    }

    [Fact]
    public void KeywordSpecsSearchForwardAndBackward()
    {
        Assert.Equal("s1,s2", Keys("xread", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"));
        Assert.Equal("k", Keys("georadiusbymember", "k", "m", "1", "km"));
        Assert.Equal("k,dst", Keys("georadiusbymember", "k", "m", "1", "km", "STORE", "dst"));
    }

    [Fact]
    public void CommandsWithIncompleteSpecsUseTheirOwnExtraction()
    {
        Assert.Equal("a,b", Keys("sort", "a", "LIMIT", "0", "1", "STORE", "b"));
        Assert.Equal("a", Keys("sort_ro", "a", "BY", "w*"));
        Assert.Equal("k1,k2", Keys("migrate", "h", "1", "", "0", "10", "KEYS", "k1", "k2"));
        Assert.Equal("key", Keys("migrate", "h", "1", "key", "0", "10"));
    }

    [Fact]
    public void VariableFlagsFollowTheArguments()
    {
        var ro = KeyRefs(["bitfield", "k", "GET", "u8", "0"])!;
        Assert.Equal(KeySpecFlags.RO | KeySpecFlags.Access, ro[0].Flags);
        var rw = KeyRefs(["bitfield", "k", "SET", "u8", "0", "1"])!;
        Assert.Equal(KeySpecFlags.RW | KeySpecFlags.Access | KeySpecFlags.Update, rw[0].Flags);
    }

    [Fact]
    public void NotKeySpecsAreNotKeys()
    {
        Assert.False(KeySpecs.HasKeys(Table.LookupAny("spublish")!));
        Assert.True(KeySpecs.HasKeys(Table.LookupAny("get")!));
        Assert.False(KeySpecs.HasKeys(Table.LookupAny("ping")!));
    }

    static readonly string[] Pool =
    [
        "k1", "k2", "k3", "0", "1", "2", "3", "-1", "10", "", "STORE", "store", "dst", "KEYS", "keys", "GET", "get", "BY", "LIMIT",
        "STREAMS", "streams", "COUNT", "AUTH", "AUTH2", "u8", "SET", "INCRBY", "OVERFLOW", "WRAP", "STOREDIST", "FROM", "TO",
        "WEIGHTS", "AGGREGATE", "LEFT", "RIGHT", "numkeys", "99999999999", "abc", "*", "#",
    ];

    /// <summary>Every command and subcommand of the table, with its name (and subcommand name) in front.</summary>
    static IEnumerable<(CommandDef Cmd, string[] Prefix)> EveryCommand()
    {
        foreach (var cmd in Table.All.Values)
        {
            yield return (cmd, [cmd.Name]);
            foreach (var sub in cmd.Subcommands?.Values ?? Enumerable.Empty<CommandDef>())
                yield return (sub, [cmd.Name, sub.Name]);
        }
    }

    static CommandArgs ArgsOf(IEnumerable<string> argv)
    {
        // One buffer with the arguments as slices, as the query buffer holds them.
        var parts = argv.Select(Encoding.UTF8.GetBytes).ToList();
        var buf = parts.SelectMany(p => p).ToArray();
        var args = new CommandArgs();
        int off = 0;
        foreach (var p in parts)
        {
            args.Add(buf, off, p.Length);
            off += p.Length;
        }
        return args;
    }

    [Fact]
    public void TheSpanFormEqualsTheListFormForEveryCommandInTheTable()
    {
        var rng = new Random(1234);
        var result = new GetKeysResult();
        int commands = 0, vectors = 0, withKeys = 0;
        foreach (var (cmd, prefix) in EveryCommand())
        {
            commands++;
            for (int n = 0; n < 300; n++)
            {
                var argv = prefix.Concat(Enumerable.Range(0, rng.Next(0, 10)).Select(_ => Pool[rng.Next(Pool.Length)])).ToArray();
                var expected = ListKeySpecs.GetKeys(cmd, argv.Select(Encoding.UTF8.GetBytes).ToList());
                int count = KeySpecs.GetKeys(cmd, ArgsOf(argv), result);
                // The same vector behind a prefix (COMMAND GETKEYS reads from argv[2]): positions stay relative.
                int shifted = KeySpecs.GetKeys(cmd, ArgsOf(new[] { "command", "getkeys" }.Concat(argv)), new GetKeysResult(), start: 2);
                var context = $"{cmd.FullName}: {string.Join(' ', argv)}";
                if (expected == null)
                {
                    Assert.True(count == -1, context);
                    Assert.True(shifted == -1, context);
                    continue;
                }
                Assert.True(expected.Count == count, context);
                Assert.True(expected.SequenceEqual(result.Keys.ToArray()), context);
                Assert.Equal(count, shifted);
                vectors++;
                if (count > 0) withKeys++;
            }
        }
        Assert.True(commands > 350, $"only {commands} commands in the table");
        Assert.True(withKeys > 10_000, $"only {withKeys} of {vectors} vectors had keys: the comparison is too weak");
    }

    [Fact]
    public void KeywordsMatchCaseInsensitivelyInAsciiOnly()
    {
        Assert.Equal("a,b", Keys("sort", "a", "sToRe", "b"));
        // strcasecmp folds ASCII letters only: the long s (U+017F) is not an 's'.
        Assert.Equal("a", Keys("sort", "a", "\u017Ftore", "b"));
    }

    [Fact]
    public void AResultGrowsPastItsInitialBufferAndIsReused()
    {
        var cmd = Table.LookupAny("del")!;
        var result = new GetKeysResult();
        Assert.Equal(1000, KeySpecs.GetKeys(cmd, ArgsOf(new[] { "del" }.Concat(Enumerable.Range(0, 1000).Select(i => "k" + i))), result));
        Assert.Equal(1000, result[999].Pos);
        Assert.Equal(2, KeySpecs.GetKeys(cmd, ArgsOf(["del", "a", "b"]), result));
        Assert.Equal([new KeyReference(1, KeySpecFlags.RM | KeySpecFlags.Delete), new KeyReference(2, KeySpecFlags.RM | KeySpecFlags.Delete)], result.Keys.ToArray());
    }
}
