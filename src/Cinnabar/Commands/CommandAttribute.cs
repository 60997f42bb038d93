// Marks a static handler method `static void X(Client c)` as the implementation of a command
// in the generated table, e.g. [Command("get")] or [Command("client|list")]. The table finds
// handlers by reflection once at start-up, so adding a command family needs no central list.
namespace Cinnabar.Commands;

[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class CommandAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}
