// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Redis's eval.c commands). The script cache
// and the run live in Scripting/EvalScripts.cs; these handlers parse and reply as Redis does.
using Cinnabar.Networking;
using Cinnabar.Scripting;

namespace Cinnabar.Commands;

public static class ScriptingCommands
{
    [Command("eval")]
    static void Eval(Client c) => c.Server.Lua.Eval.Eval(c, evalsha: false, ro: false);

    [Command("eval_ro")]
    static void EvalRo(Client c) => c.Server.Lua.Eval.Eval(c, evalsha: false, ro: true);

    [Command("evalsha")]
    static void EvalSha(Client c) => c.Server.Lua.Eval.Eval(c, evalsha: true, ro: false);

    [Command("evalsha_ro")]
    static void EvalShaRo(Client c) => c.Server.Lua.Eval.Eval(c, evalsha: true, ro: true);

    [Command("script|load")]
    static void ScriptLoad(Client c)
    {
        string? sha = c.Server.Lua.Eval.CreateFunction(c, c.Args[2]);
        if (sha != null) c.Reply.Bulk(sha);
    }

    [Command("script|exists")]
    static void ScriptExists(Client c)
    {
        var eval = c.Server.Lua.Eval;
        c.Reply.ArrayLen(c.Args.Count - 2);
        for (int j = 2; j < c.Args.Count; j++) c.Reply.Integer(eval.Exists(c.Args[j]) ? 1 : 0);
    }

    [Command("script|flush")]
    static void ScriptFlush(Client c)
    {
        if (c.Args.Count > 3 || (c.Args.Count == 3 && !c.Args.Is(2, "sync") && !c.Args.Is(2, "async")))
        {
            c.Reply.Error("SCRIPT FLUSH only support SYNC|ASYNC option");
            return;
        }
        // ASYNC and SYNC end alike here: the Lua state is closed at once (it is small next to a dataset).
        c.Server.Lua.Eval.Flush();
        c.Reply.Ok();
    }

    [Command("script|kill")]
    static void ScriptKill(Client c) => ScriptRun.Kill(c.Server, c, isEval: true);

    [Command("script|debug")]
    static void ScriptDebug(Client c)
    {
        if (c.HasFlag(ClientFlags.Multi))
        {
            c.Reply.Error("SCRIPT DEBUG must be called outside MULTI");
            return;
        }
        if (c.Args.Is(2, "no"))
        {
            c.Reply.Ok();
            return;
        }
        if (c.Args.Is(2, "yes") || c.Args.Is(2, "sync"))
        {
            // The Lua debugger (LDB) is not built: refuse rather than leave the client waiting for its protocol.
            c.Reply.Error("The Lua debugger is not available on this server");
            return;
        }
        c.Reply.Error("Use SCRIPT DEBUG YES/SYNC/NO");
    }

    [Command("script|help")]
    static void ScriptHelp(Client c) => HelpReply.Write(c, "SCRIPT",
    [
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
    ]);
}
