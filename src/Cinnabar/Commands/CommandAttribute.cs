// Marks a static handler method `static void X(Client c)` as the implementation of a command
// in the generated table, e.g. [Command("get")] or [Command("client|list")]. The table finds
// handlers by reflection once at start-up, so adding a command family needs no central list.
// [SentinelCommand] does the same for Sentinel mode's table.
namespace Cinnabar.Commands;

[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class CommandAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>A handler of Sentinel mode's table (SENTINEL, and Sentinel's INFO, ROLE, PUBLISH), bound over [Command] there.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class SentinelCommandAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}
