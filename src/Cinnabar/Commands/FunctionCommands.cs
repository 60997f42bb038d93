// FUNCTION and FCALL (Redis's functions.c commands). The libraries, their loading and FCALL's run
// live in Scripting/FunctionLibraries.cs; these handlers parse and reply as Redis does.
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Scripting;

namespace Cinnabar.Commands;

public static class FunctionCommands
{
    [Command("fcall")]
    static void Fcall(Client c) => c.Server.Lua.Functions.Fcall(c, ro: false);

    [Command("fcall_ro")]
    static void FcallRo(Client c) => c.Server.Lua.Functions.Fcall(c, ro: true);

    [Command("function|load")]
    static void Load(Client c)
    {
        bool replace = false;
        int argc = c.Args.Count, i = 2;
        for (; i < argc - 1; i++)
        {
            if (!c.Args.Is(i, "replace"))
            {
                c.Reply.ErrorWithRawBytes("Unknown option given: " + System.Text.Encoding.Latin1.GetString(c.Args[i]));
                return;
            }
            replace = true;
        }
        string? name = c.Server.Lua.Functions.Create(c.Args[argc - 1], replace, out var error);
        if (name == null)
        {
            c.Reply.ErrorWithRawBytes(error!);
            return;
        }
        c.Server.Stats.Dirty++;
        c.Reply.Bulk(name);
    }

    [Command("function|delete")]
    static void Delete(Client c)
    {
        if (!c.Server.Lua.Functions.Delete(c.Args.ToStringAt(2)))
        {
            c.Reply.Error("Library not found");
            return;
        }
        c.Server.Stats.Dirty++;
        c.Reply.Ok();
    }

    [Command("function|flush")]
    static void Flush(Client c)
    {
        if (c.Args.Count > 3)
        {
            c.Reply.Error("unknown subcommand or wrong number of arguments for 'flush'. Try FUNCTION HELP.");
            return;
        }
        if (c.Args.Count == 3 && !c.Args.Is(2, "sync") && !c.Args.Is(2, "async"))
        {
            c.Reply.Error("FUNCTION FLUSH only supports SYNC|ASYNC option");
            return;
        }
        c.Server.Lua.Functions.Flush();
        c.Server.Stats.Dirty++;
        c.Reply.Ok();
    }

    [Command("function|kill")]
    static void Kill(Client c) => ScriptRun.Kill(c.Server, c, isEval: false);

    [Command("function|list")]
    static void List(Client c)
    {
        string? pattern = null;
        bool withCode = false;
        for (int i = 2; i < c.Args.Count; i++)
        {
            if (c.Args.Is(i, "withcode") && !withCode)
            {
                withCode = true;
                continue;
            }
            if (c.Args.Is(i, "libraryname") && pattern == null)
            {
                if (i + 1 >= c.Args.Count)
                {
                    c.Reply.Error("library name argument was not given");
                    return;
                }
                pattern = c.Args.ToStringAt(++i);
                continue;
            }
            c.Reply.ErrorWithRawBytes("Unknown argument " + System.Text.Encoding.Latin1.GetString(c.Args[i]));
            return;
        }
        var libs = c.Server.Lua.Functions.Libraries
            .Where(l => pattern == null || GlobMatcher.Match(System.Text.Encoding.UTF8.GetBytes(pattern), System.Text.Encoding.UTF8.GetBytes(l.Name), nocase: false))
            .ToList();
        var w = c.Reply;
        w.ArrayLen(libs.Count);
        foreach (var lib in libs)
        {
            w.MapLen(withCode ? 4 : 3);
            w.Bulk("library_name");
            w.Bulk(lib.Name);
            w.Bulk("engine");
            w.Bulk("LUA");
            w.Bulk("functions");
            w.ArrayLen(lib.Functions.Count);
            foreach (var f in lib.Functions)
            {
                w.MapLen(3);
                w.Bulk("name");
                w.Bulk(f.Name);
                w.Bulk("description");
                if (f.Description == null) w.Null();
                else w.Bulk(f.Description);
                w.Bulk("flags");
                var flags = FlagNames(f.Flags);
                w.SetLen(flags.Count);
                foreach (var flag in flags) w.Status(flag);
            }
            if (withCode)
            {
                w.Bulk("library_code");
                w.Bulk(lib.Code);
            }
        }
    }

    static List<string> FlagNames(ScriptFlags flags)
    {
        var names = new List<string>();
        if ((flags & ScriptFlags.NoWrites) != 0) names.Add("no-writes");
        if ((flags & ScriptFlags.AllowOom) != 0) names.Add("allow-oom");
        if ((flags & ScriptFlags.AllowStale) != 0) names.Add("allow-stale");
        if ((flags & ScriptFlags.NoCluster) != 0) names.Add("no-cluster");
        if ((flags & ScriptFlags.AllowCrossSlot) != 0) names.Add("allow-cross-slot-keys");
        return names;
    }

    [Command("function|stats")]
    static void Stats(Client c)
    {
        var w = c.Reply;
        var functions = c.Server.Lua.Functions;
        w.MapLen(2);
        w.Bulk("running_script");
        var run = c.Server.Lua.Running;
        if (run == null || run.EvalMode) w.Null();
        else
        {
            w.MapLen(3);
            w.Bulk("name");
            w.Bulk(run.FunctionName);
            w.Bulk("command");
            var args = run.Caller.Args;
            w.ArrayLen(args.Count);
            for (int i = 0; i < args.Count; i++) w.Bulk(args[i]);
            w.Bulk("duration_ms");
            w.Integer(run.ElapsedMs);
        }
        w.Bulk("engines");
        w.MapLen(1);
        w.Bulk("LUA");
        w.MapLen(2);
        w.Bulk("libraries_count");
        w.Integer(functions.LibraryCount);
        w.Bulk("functions_count");
        w.Integer(functions.FunctionCount);
    }

    [Command("function|dump")]
    static void Dump(Client c) => c.Reply.Bulk(c.Server.Lua.Functions.Dump());

    [Command("function|restore")]
    static void Restore(Client c)
    {
        string policy = "append";
        if (c.Args.Count > 4)
        {
            c.Reply.Error("unknown subcommand or wrong number of arguments for 'restore'. Try FUNCTION HELP.");
            return;
        }
        if (c.Args.Count == 4)
        {
            if (c.Args.Is(3, "flush")) policy = "flush";
            else if (c.Args.Is(3, "append")) policy = "append";
            else if (c.Args.Is(3, "replace")) policy = "replace";
            else
            {
                c.Reply.Error("Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
                return;
            }
        }
        string? error = c.Server.Lua.Functions.Restore(c.Args[2], policy);
        if (error != null)
        {
            c.Reply.ErrorWithRawBytes(error);
            return;
        }
        c.Server.Stats.Dirty++;
        c.Reply.Ok();
    }

    [Command("function|help")]
    static void Help(Client c) => HelpReply.Write(c, "FUNCTION",
    [
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
    ]);
}
