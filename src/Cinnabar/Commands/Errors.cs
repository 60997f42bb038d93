// Redis's shared error replies (server.h shared.*), word for word.
namespace Cinnabar.Commands;

public static class Errors
{
    public const string WrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value";
    public const string Syntax = "syntax error";
    public const string NotInteger = "value is not an integer or out of range";
    public const string NotFloat = "value is not a valid float";
    public const string NoSuchKey = "no such key";
    public const string OutOfRange = "index out of range";
    public const string InvalidExpire = "invalid expire time in '{0}' command";
    public const string DbIndexOutOfRange = "DB index is out of range";
}
