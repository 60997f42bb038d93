// Locates the real Redis tools (redis-server, redis-cli, redis-benchmark) on PATH and decides
// what a test does without them: skipped with a reason on a developer machine, failed with a
// clear message under CI=true (CI installs them, so a missing tool there is a broken setup).
// xunit 2.9 has no dynamic skip, so the attributes below set Skip at discovery time.
namespace Cinnabar.Tests.Support;

public static class ExternalTools
{
    public static bool IsCI =>
        Environment.GetEnvironmentVariable("CI") is { } v && (v.Equals("true", StringComparison.OrdinalIgnoreCase) || v == "1");

    /// <summary>The full path of an executable on PATH, or null.</summary>
    public static string? Find(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (dir.Length == 0) continue;
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>The skip reason when a tool is missing outside CI; null when the test must run.</summary>
    public static string? SkipReason(params string[] tools)
    {
        if (IsCI) return null;
        var missing = tools.Where(t => Find(t) == null).ToArray();
        return missing.Length == 0
            ? null
            : $"{string.Join(", ", missing)} not installed (Debian: apt-get install redis-server redis-tools; ./run-tests.sh installs them)";
    }

    /// <summary>The tool's path; throws with an explanation when it is missing (the CI case).</summary>
    public static string Require(string name) =>
        Find(name) ?? throw new InvalidOperationException(
            $"{name} is not installed but this test requires it (CI={Environment.GetEnvironmentVariable("CI")}). " +
            "Install Debian's redis-server and redis-tools packages; ./run-tests.sh does so when they are missing.");
}

/// <summary>A [Fact] that is skipped (outside CI) when one of the named tools is not on PATH.</summary>
public sealed class RequiresToolsFactAttribute : FactAttribute
{
    public RequiresToolsFactAttribute(params string[] tools)
    {
        if (ExternalTools.SkipReason(tools) is { } reason) Skip = reason;
    }
}

/// <summary>A [Theory] that is skipped (outside CI) when one of the named tools is not on PATH.</summary>
public sealed class RequiresToolsTheoryAttribute : TheoryAttribute
{
    public RequiresToolsTheoryAttribute(params string[] tools)
    {
        if (ExternalTools.SkipReason(tools) is { } reason) Skip = reason;
    }
}
