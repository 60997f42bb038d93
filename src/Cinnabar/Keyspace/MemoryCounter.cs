// A running total of bytes behind INFO used_memory (Redis keeps zmalloc's used_memory the same
// way): the keyspace, the dicts' tables and the clients' buffers each add their change to a
// counter at the moment it happens, so reading used_memory (before every command under
// maxmemory) is a few field reads instead of a walk over every database and client.
namespace Cinnabar.Keyspace;

public sealed class MemoryCounter
{
    public long Bytes;
}
