// INFO (server.c genRedisInfoString): the sections and field names of Redis 7.0, in its order.
// Values are this server's own; for mechanisms that do not exist here (fork, AOF, replicas,
// jemalloc, I/O threads) the fields carry the values an idle Redis reports, so tools that
// parse INFO find every field they expect. "default", "all" and "everything" select as in 7.0.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Cinnabar.Commands;
using Cinnabar.Networking;

namespace Cinnabar.Server;

public static class Info
{
    /// <summary>Every section, in the order INFO everything prints them.</summary>
    public static readonly string[] AllSections =
        ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "commandstats", "errorstats", "latencystats", "cluster", "keyspace"];

    /// <summary>What INFO and INFO default print.</summary>
    static readonly string[] DefaultSections =
        ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats", "cluster", "keyspace"];

    /// <summary>
    /// Cinnabar's own sections, printed only when named (INFO gc): "all" and "everything" stay
    /// exactly Redis's set, so tools that compare INFO output see no extra fields.
    /// </summary>
    static readonly string[] ExtraSections = ["gc"];

    /// <summary>Builds the INFO text for the given arguments (none means "default").</summary>
    public static string Generate(CinnabarServer server, IReadOnlyList<string> args)
    {
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        if (args.Count == 0) wanted.UnionWith(DefaultSections);
        foreach (var raw in args)
        {
            string a = raw.ToLowerInvariant();
            switch (a)
            {
                case "default": wanted.UnionWith(DefaultSections); break;
                // With no modules loaded, "all" and "everything" are the same set.
                case "all" or "everything": wanted.UnionWith(AllSections); break;
                default: wanted.Add(a); break;
            }
        }
        var sb = new StringBuilder();
        foreach (var name in AllSections.Concat(ExtraSections))
        {
            if (!wanted.Contains(name)) continue;
            if (sb.Length > 0) sb.Append("\r\n");
            Section(server, name, sb);
        }
        return sb.ToString();
    }

    static void Section(CinnabarServer s, string name, StringBuilder sb)
    {
        switch (name)
        {
            case "server": ServerSection(s, sb); break;
            case "clients": ClientsSection(s, sb); break;
            case "memory": MemorySection(s, sb); break;
            case "persistence": PersistenceSection(s, sb); break;
            case "stats": StatsSection(s, sb); break;
            case "replication": ReplicationSection(s, sb); break;
            case "cpu": CpuSection(sb); break;
            case "modules": sb.Append("# Modules\r\n"); break;
            case "commandstats": CommandStatsSection(s, sb); break;
            case "errorstats": ErrorStatsSection(s, sb); break;
            case "latencystats": LatencyStatsSection(s, sb); break;
            case "cluster": sb.Append("# Cluster\r\ncluster_enabled:").Append(s.Cluster != null ? 1 : 0).Append("\r\n"); break;
            case "keyspace": KeyspaceSection(s, sb); break;
            case "gc": GcSection(sb); break;
        }
    }

    /// <summary>
    /// The .NET garbage collector, the one source of pauses Redis does not have: collections per
    /// generation since start, total pause time, and the heap as of the last collection.
    /// </summary>
    static void GcSection(StringBuilder sb)
    {
        var last = GC.GetGCMemoryInfo(GCKind.Any);
        sb.Append("# Gc\r\n");
        Field(sb, "gc_gen0_collections", GC.CollectionCount(0));
        Field(sb, "gc_gen1_collections", GC.CollectionCount(1));
        Field(sb, "gc_gen2_collections", GC.CollectionCount(2));
        Field(sb, "gc_pause_total_ms", (long)GC.GetTotalPauseDuration().TotalMilliseconds);
        Field(sb, "gc_pause_time_percentage", last.PauseTimePercentage.ToString("0.00", CultureInfo.InvariantCulture));
        Field(sb, "gc_last_pause_us", (long)(last.PauseDurations.Length > 0 ? last.PauseDurations[0].TotalMicroseconds : 0));
        Field(sb, "gc_heap_size", last.HeapSizeBytes);
        Field(sb, "gc_fragmented_bytes", last.FragmentedBytes);
        Field(sb, "gc_committed_bytes", last.TotalCommittedBytes);
        Field(sb, "gc_total_allocated_bytes", GC.GetTotalAllocatedBytes());
    }

    static void Field(StringBuilder sb, string name, object value) =>
        sb.Append(name).Append(':').Append(Convert.ToString(value, CultureInfo.InvariantCulture)).Append("\r\n");

    static void ServerSection(CinnabarServer s, StringBuilder sb)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long uptime = (now - s.StartTimeMs) / 1000;
        sb.Append("# Server\r\n");
        Field(sb, "redis_version", CinnabarServer.RedisVersion);
        Field(sb, "redis_git_sha1", "00000000");
        Field(sb, "redis_git_dirty", 0);
        Field(sb, "redis_build_id", "cinnabar-" + CinnabarServer.CinnabarVersion);
        Field(sb, "redis_mode", s.Sentinel != null ? "sentinel" : "standalone");
        Field(sb, "os", $"{RuntimeInformation.OSDescription} {RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}");
        Field(sb, "arch_bits", IntPtr.Size * 8);
        Field(sb, "monotonic_clock", "Stopwatch");
        Field(sb, "multiplexing_api", OperatingSystem.IsLinux() ? "epoll" : "select");
        Field(sb, "atomicvar_api", "dotnet");
        Field(sb, "gcc_version", "0.0.0");
        Field(sb, "process_id", Environment.ProcessId);
        Field(sb, "process_supervised", "no");
        Field(sb, "run_id", s.RunId);
        Field(sb, "tcp_port", s.Port);
        Field(sb, "server_time_usec", now * 1000);
        Field(sb, "uptime_in_seconds", uptime);
        Field(sb, "uptime_in_days", uptime / 86400);
        Field(sb, "hz", s.Sentinel?.Hz ?? s.Config.Hz);
        Field(sb, "configured_hz", s.Config.Hz);
        Field(sb, "lru_clock", s.Clock.LruClock);
        Field(sb, "executable", Environment.ProcessPath ?? "");
        Field(sb, "config_file", s.Config.ConfigFile ?? "");
        Field(sb, "io_threads_active", 0);
        if (s.ShutdownSequence.Initiated) Field(sb, "shutdown_in_milliseconds", s.ShutdownSequence.InMilliseconds);
    }

    static void ClientsSection(CinnabarServer s, StringBuilder sb)
    {
        var (maxIn, maxOut) = s.ClientEviction.RecentMaxBuffers();
        int blocked = 0, tracking = 0;
        foreach (var c in s.Clients.All)
        {
            // A client postponed by CLIENT PAUSE is blocked too (BLOCKED_POSTPONE), as Redis counts it.
            if (c.HasFlag(ClientFlags.Blocked) || s.Pause.IsPostponed(c)) blocked++;
            if (c.HasFlag(ClientFlags.Tracking)) tracking++;
        }
        sb.Append("# Clients\r\n");
        Field(sb, "connected_clients", s.Clients.All.Count(c => !c.HasFlag(ClientFlags.Replica)));
        Field(sb, "cluster_connections", s.Cluster?.ConnectionsCount ?? 0);
        Field(sb, "maxclients", s.Config.MaxClients);
        Field(sb, "client_recent_max_input_buffer", maxIn);
        Field(sb, "client_recent_max_output_buffer", maxOut);
        Field(sb, "blocked_clients", blocked);
        Field(sb, "tracking_clients", tracking);
        Field(sb, "clients_in_timeout_table", 0);
    }

    static void MemorySection(CinnabarServer s, StringBuilder sb)
    {
        long used = s.UsedMemory;
        if (used > s.Stats.PeakMemory) s.Stats.PeakMemory = used;
        long peak = s.Stats.PeakMemory;
        long rss = Environment.WorkingSet;
        long dataset = Math.Max(0, used - CinnabarServer.BaselineMemory);
        long totalSystem = (long)GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        long maxmemory = s.Config.MaxMemory;
        long managed = GC.GetTotalMemory(false);
        sb.Append("# Memory\r\n");
        Field(sb, "used_memory", used);
        Field(sb, "used_memory_human", BytesToHuman(used));
        Field(sb, "used_memory_rss", rss);
        Field(sb, "used_memory_rss_human", BytesToHuman(rss));
        Field(sb, "used_memory_peak", peak);
        Field(sb, "used_memory_peak_human", BytesToHuman(peak));
        Field(sb, "used_memory_peak_perc", Percent(used, peak));
        Field(sb, "used_memory_overhead", used - dataset);
        Field(sb, "used_memory_startup", CinnabarServer.BaselineMemory);
        Field(sb, "used_memory_dataset", dataset);
        Field(sb, "used_memory_dataset_perc", Percent(dataset, used));
        Field(sb, "allocator_allocated", managed);
        Field(sb, "allocator_active", managed);
        Field(sb, "allocator_resident", rss);
        Field(sb, "total_system_memory", totalSystem);
        Field(sb, "total_system_memory_human", BytesToHuman(totalSystem));
        var eval = s.Lua.Eval;
        var functions = s.Lua.Functions;
        long vmEval = eval.LuaMemory, vmFunctions = functions.LuaMemory, scriptsEval = eval.ScriptsMemory, functionsMemory = functions.FunctionsMemory;
        Field(sb, "used_memory_lua", vmEval);
        Field(sb, "used_memory_vm_eval", vmEval);
        Field(sb, "used_memory_lua_human", BytesToHuman(vmEval));
        Field(sb, "used_memory_scripts_eval", scriptsEval);
        Field(sb, "number_of_cached_scripts", eval.Count);
        Field(sb, "number_of_functions", functions.FunctionCount);
        Field(sb, "number_of_libraries", functions.LibraryCount);
        Field(sb, "used_memory_vm_functions", vmFunctions);
        Field(sb, "used_memory_vm_total", vmEval + vmFunctions);
        Field(sb, "used_memory_vm_total_human", BytesToHuman(vmEval + vmFunctions));
        Field(sb, "used_memory_functions", functionsMemory);
        Field(sb, "used_memory_scripts", scriptsEval + functionsMemory);
        Field(sb, "used_memory_scripts_human", BytesToHuman(scriptsEval + functionsMemory));
        Field(sb, "maxmemory", maxmemory);
        Field(sb, "maxmemory_human", BytesToHuman(maxmemory));
        Field(sb, "maxmemory_policy", s.Config.MaxMemoryPolicy);
        Field(sb, "allocator_frag_ratio", "1.00");
        Field(sb, "allocator_frag_bytes", 0);
        Field(sb, "allocator_rss_ratio", Ratio(rss, managed));
        Field(sb, "allocator_rss_bytes", rss - managed);
        Field(sb, "rss_overhead_ratio", "1.00");
        Field(sb, "rss_overhead_bytes", 0);
        Field(sb, "mem_fragmentation_ratio", Ratio(rss, used));
        Field(sb, "mem_fragmentation_bytes", rss - used);
        Field(sb, "mem_not_counted_for_evict", s.MemNotCountedForEvict);
        // As getMemoryOverheadData: with replicas, what the buffer holds beyond repl-backlog-size is theirs.
        long replBuf = s.ReplicationBufferMemory, backlogSize = s.Config.ReplBacklogSize;
        bool replicasHold = s.Replication.Replicas.Count > 0 && replBuf > backlogSize;
        Field(sb, "mem_replication_backlog", replicasHold ? backlogSize : replBuf);
        Field(sb, "mem_total_replication_buffers", replBuf);
        Field(sb, "mem_clients_slaves", (replicasHold ? replBuf - backlogSize : 0) + s.ReplicaOutputMemory.Bytes);
        Field(sb, "mem_clients_normal", s.ClientEviction.NormalClientsMemory);
        Field(sb, "mem_cluster_links", s.Cluster?.LinksMemory ?? 0);
        Field(sb, "mem_aof_buffer", s.Aof.BufferMemory);
        Field(sb, "mem_allocator", "dotnet-gc");
        Field(sb, "active_defrag_running", 0);
        Field(sb, "lazyfree_pending_objects", 0);
        Field(sb, "lazyfreed_objects", s.Stats.LazyfreedObjects);
    }

    static void PersistenceSection(CinnabarServer s, StringBuilder sb)
    {
        sb.Append("# Persistence\r\n");
        Field(sb, "loading", s.Loading && !s.LoadingProgress.Async ? 1 : 0);
        Field(sb, "async_loading", s.LoadingProgress.Async ? 1 : 0);
        // current_*: the running snapshot's progress; its cow sizes are the bytes the pre-write
        // hook serialized ahead of the walk (what fork's copy-on-write would have copied).
        var bg = s.BackgroundSave;
        var snap = bg.Current;
        Field(sb, "current_cow_peak", snap?.CowBytes ?? 0);
        Field(sb, "current_cow_size", snap?.CowBytes ?? 0);
        Field(sb, "current_cow_size_age", 0);
        Field(sb, "current_fork_perc", snap == null || snap.KeysTotal == 0 ? "0.00" : (100.0 * snap.KeysProcessed / snap.KeysTotal).ToString("0.00", CultureInfo.InvariantCulture));
        Field(sb, "current_save_keys_processed", snap?.KeysProcessed ?? 0);
        Field(sb, "current_save_keys_total", snap?.KeysTotal ?? 0);
        Field(sb, "rdb_changes_since_last_save", s.Stats.Dirty);
        Field(sb, "rdb_bgsave_in_progress", bg.InProgress ? 1 : 0);
        Field(sb, "rdb_last_save_time", s.LastSaveTime);
        Field(sb, "rdb_last_bgsave_status", bg.LastStatusOk ? "ok" : "err");
        Field(sb, "rdb_last_bgsave_time_sec", bg.LastDurationSeconds);
        Field(sb, "rdb_current_bgsave_time_sec", bg.CurrentDurationSeconds);
        Field(sb, "rdb_saves", bg.Saves);
        Field(sb, "rdb_last_cow_size", bg.LastCowSize);
        Field(sb, "rdb_last_load_keys_expired", s.Stats.RdbLastLoadKeysExpired);
        Field(sb, "rdb_last_load_keys_loaded", s.Stats.RdbLastLoadKeysLoaded);
        var aof = s.Aof;
        Field(sb, "aof_enabled", aof.Active ? 1 : 0);
        Field(sb, "aof_rewrite_in_progress", aof.RewriteInProgress ? 1 : 0);
        Field(sb, "aof_rewrite_scheduled", aof.RewriteScheduled ? 1 : 0);
        Field(sb, "aof_last_rewrite_time_sec", aof.RewriteTimeLast);
        Field(sb, "aof_current_rewrite_time_sec", aof.CurrentRewriteTimeSec);
        Field(sb, "aof_last_bgrewrite_status", aof.LastBgrewriteOk ? "ok" : "err");
        Field(sb, "aof_rewrites", aof.Rewrites);
        Field(sb, "aof_rewrites_consecutive_failures", aof.ConsecutiveFailures);
        Field(sb, "aof_last_write_status", aof.WriteStatusOk ? "ok" : "err");
        Field(sb, "aof_last_cow_size", bg.LastAofCowSize);
        Field(sb, "module_fork_in_progress", 0);
        Field(sb, "module_fork_last_cow_size", 0);
        if (s.Config.AppendOnly)
        {
            Field(sb, "aof_current_size", aof.CurrentSize);
            Field(sb, "aof_base_size", aof.RewriteBaseSize);
            Field(sb, "aof_pending_rewrite", aof.RewriteScheduled ? 1 : 0);
            Field(sb, "aof_buffer_length", aof.BufferLength);
            Field(sb, "aof_pending_bio_fsync", aof.PendingBioFsync);
            Field(sb, "aof_delayed_fsync", aof.DelayedFsync);
        }
        if (s.Loading)
        {
            var l = s.LoadingProgress;
            Field(sb, "loading_start_time", l.StartTimeUnix);
            Field(sb, "loading_total_bytes", l.TotalBytes);
            Field(sb, "loading_rdb_used_mem", l.RdbUsedMem);
            Field(sb, "loading_loaded_bytes", l.LoadedBytes);
            Field(sb, "loading_loaded_perc", l.LoadedPercent.ToString("0.00", CultureInfo.InvariantCulture));
            Field(sb, "loading_eta_seconds", l.EtaSeconds);
        }
    }

    static void StatsSection(CinnabarServer s, StringBuilder sb)
    {
        var st = s.Stats;
        sb.Append("# Stats\r\n");
        Field(sb, "total_connections_received", st.NumConnections);
        Field(sb, "total_commands_processed", st.NumCommands);
        Field(sb, "instantaneous_ops_per_sec", s.Metrics.OpsPerSec);
        Field(sb, "total_net_input_bytes", st.NetInputBytes);
        Field(sb, "total_net_output_bytes", st.NetOutputBytes);
        Field(sb, "total_net_repl_input_bytes", st.NetReplInputBytes);
        Field(sb, "total_net_repl_output_bytes", st.NetReplOutputBytes);
        Field(sb, "instantaneous_input_kbps", s.Metrics.InputKbps.ToString("F2", CultureInfo.InvariantCulture));
        Field(sb, "instantaneous_output_kbps", s.Metrics.OutputKbps.ToString("F2", CultureInfo.InvariantCulture));
        Field(sb, "instantaneous_input_repl_kbps", "0.00");
        Field(sb, "instantaneous_output_repl_kbps", "0.00");
        Field(sb, "rejected_connections", st.RejectedConnections);
        Field(sb, "sync_full", st.SyncFull);
        Field(sb, "sync_partial_ok", st.SyncPartialOk);
        Field(sb, "sync_partial_err", st.SyncPartialErr);
        Field(sb, "expired_keys", st.ExpiredKeys);
        Field(sb, "expired_stale_perc", (st.ExpiredStalePerc * 100).ToString("F2", CultureInfo.InvariantCulture));
        Field(sb, "expired_time_cap_reached_count", st.ExpiredTimeCapReachedCount);
        Field(sb, "expire_cycle_cpu_milliseconds", st.ExpireCycleTimeUsedUs / 1000);
        Field(sb, "evicted_keys", st.EvictedKeys);
        Field(sb, "evicted_clients", st.EvictedClients);
        long currentExceededUs = st.LastEvictionExceededTimeUs == 0 ? 0 : ServerClock.MonotonicUs - st.LastEvictionExceededTimeUs;
        Field(sb, "total_eviction_exceeded_time", (st.TotalEvictionExceededTimeUs + currentExceededUs) / 1000);
        Field(sb, "current_eviction_exceeded_time", currentExceededUs / 1000);
        Field(sb, "keyspace_hits", st.KeyspaceHits);
        Field(sb, "keyspace_misses", st.KeyspaceMisses);
        Field(sb, "pubsub_channels", 0);
        Field(sb, "pubsub_patterns", 0);
        Field(sb, "pubsubshard_channels", 0);
        Field(sb, "latest_fork_usec", 0);
        Field(sb, "total_forks", 0);
        Field(sb, "migrate_cached_sockets", s.MigrateSockets.Count);
        Field(sb, "slave_expires_tracked_keys", 0);
        Field(sb, "active_defrag_hits", 0);
        Field(sb, "active_defrag_misses", 0);
        Field(sb, "active_defrag_key_hits", 0);
        Field(sb, "active_defrag_key_misses", 0);
        Field(sb, "total_active_defrag_time", 0);
        Field(sb, "current_active_defrag_time", 0);
        var tracking = s.Tracking;
        Field(sb, "tracking_total_keys", tracking.TotalKeys);
        Field(sb, "tracking_total_items", tracking.TotalItems);
        Field(sb, "tracking_total_prefixes", tracking.TotalPrefixes);
        Field(sb, "unexpected_error_replies", st.UnexpectedErrorReplies);
        Field(sb, "total_error_replies", st.TotalErrorReplies);
        Field(sb, "dump_payload_sanitizations", 0);
        Field(sb, "total_reads_processed", st.TotalReadsProcessed);
        Field(sb, "total_writes_processed", st.TotalWritesProcessed);
        Field(sb, "io_threaded_reads_processed", 0);
        Field(sb, "io_threaded_writes_processed", 0);
        Field(sb, "reply_buffer_shrinks", 0);
        Field(sb, "reply_buffer_expands", 0);
    }

    static void ReplicationSection(CinnabarServer s, StringBuilder sb)
    {
        sb.Append("# Replication\r\n");
        var repl = s.Replication;
        var backlog = repl.Backlog;
        Field(sb, "role", s.IsReplica ? "slave" : "master");
        s.ReplicaSide.AppendInfo(sb);
        Field(sb, "connected_slaves", repl.Replicas.Count);
        if (s.Config.MinReplicasToWrite > 0 && s.Config.MinReplicasMaxLag > 0) Field(sb, "min_slaves_good_slaves", repl.GoodReplicas);
        repl.AppendReplicaInfo(sb);
        Field(sb, "master_failover_state", s.Failover.StateName);
        Field(sb, "master_replid", repl.ReplId);
        Field(sb, "master_replid2", repl.ReplId2);
        Field(sb, "master_repl_offset", repl.MasterReplOffset);
        Field(sb, "second_repl_offset", repl.SecondReplIdOffset);
        Field(sb, "repl_backlog_active", backlog != null ? 1 : 0);
        Field(sb, "repl_backlog_size", s.Config.GetLong("repl-backlog-size"));
        Field(sb, "repl_backlog_first_byte_offset", backlog?.FirstByteOffset ?? 0);
        Field(sb, "repl_backlog_histlen", backlog?.HistLen ?? 0);
    }

    static void CpuSection(StringBuilder sb)
    {
        var p = Process.GetCurrentProcess();
        string sys = p.PrivilegedProcessorTime.TotalSeconds.ToString("F6", CultureInfo.InvariantCulture);
        string user = p.UserProcessorTime.TotalSeconds.ToString("F6", CultureInfo.InvariantCulture);
        sb.Append("# CPU\r\n");
        Field(sb, "used_cpu_sys", sys);
        Field(sb, "used_cpu_user", user);
        Field(sb, "used_cpu_sys_children", "0.000000");
        Field(sb, "used_cpu_user_children", "0.000000");
        // The loop thread's own times are not exposed by .NET; the process totals stand in.
        Field(sb, "used_cpu_sys_main_thread", sys);
        Field(sb, "used_cpu_user_main_thread", user);
    }

    static void CommandStatsSection(CinnabarServer s, StringBuilder sb)
    {
        sb.Append("# Commandstats\r\n");
        foreach (var cmd in s.Commands.All.Values)
        {
            CommandStat(sb, cmd);
            foreach (var sub in cmd.Subcommands?.Values ?? Enumerable.Empty<CommandDef>()) CommandStat(sb, sub);
        }
    }

    static void CommandStat(StringBuilder sb, CommandDef cmd)
    {
        if (cmd.Calls == 0 && cmd.FailedCalls == 0 && cmd.RejectedCalls == 0) return;
        double perCall = cmd.Calls == 0 ? 0 : (double)cmd.MicrosecondsTotal / cmd.Calls;
        sb.Append("cmdstat_").Append(cmd.FullName).Append(':')
            .Append(CultureInfo.InvariantCulture, $"calls={cmd.Calls},usec={cmd.MicrosecondsTotal},usec_per_call={perCall:F2},rejected_calls={cmd.RejectedCalls},failed_calls={cmd.FailedCalls}\r\n");
    }

    /// <summary>genRedisInfoLatencyStatsString: the configured percentiles of each command's histogram, in µs; empty with latency-tracking off.</summary>
    static void LatencyStatsSection(CinnabarServer s, StringBuilder sb)
    {
        sb.Append("# Latencystats\r\n");
        if (!s.Config.LatencyTracking) return;
        foreach (var cmd in s.Commands.All.Values)
        {
            LatencyPercentiles(s, sb, cmd);
            foreach (var sub in cmd.Subcommands?.Values ?? Enumerable.Empty<CommandDef>()) LatencyPercentiles(s, sb, sub);
        }
    }

    /// <summary>fillPercentileDistributionLatencies: "p&lt;percentile&gt;=&lt;µs with 3 decimals&gt;", comma-separated.</summary>
    static void LatencyPercentiles(CinnabarServer s, StringBuilder sb, CommandDef cmd)
    {
        if (cmd.LatencyHistogram is not { TotalCount: > 0 } histogram) return;
        sb.Append("latency_percentiles_usec_").Append(cmd.FullName).Append(':');
        var percentiles = s.Config.LatencyTrackingPercentiles;
        for (int j = 0; j < percentiles.Length; j++)
        {
            if (j > 0) sb.Append(',');
            sb.Append('p').Append(ServerConfig.FormatPercentile(percentiles[j]))
                .Append(CultureInfo.InvariantCulture, $"={histogram.ValueAtPercentile(percentiles[j]) / 1000.0:F3}");
        }
        sb.Append("\r\n");
    }

    static void ErrorStatsSection(CinnabarServer s, StringBuilder sb)
    {
        sb.Append("# Errorstats\r\n");
        // Redis keeps the codes in a radix tree, so they print in byte order.
        foreach (var (code, count) in s.Stats.ErrorCounts.OrderBy(e => e.Key, StringComparer.Ordinal))
            sb.Append("errorstat_").Append(code).Append(":count=").Append(count.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
    }

    static void KeyspaceSection(CinnabarServer s, StringBuilder sb)
    {
        sb.Append("# Keyspace\r\n");
        foreach (var db in s.Databases)
        {
            if (db.Count == 0) continue;
            sb.Append(CultureInfo.InvariantCulture, $"db{db.Id}:keys={db.Count},expires={db.Expires.Count},avg_ttl={db.AvgTtl}\r\n");
        }
    }

    static string Percent(long part, long whole) =>
        (whole == 0 ? 0 : 100.0 * part / whole).ToString("F2", CultureInfo.InvariantCulture) + "%";

    static string Ratio(long a, long b) => (b == 0 ? 0 : (double)a / b).ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>bytesToHuman: B, K, M, G, T, P with two decimals.</summary>
    public static string BytesToHuman(long n)
    {
        double d = n;
        if (n < 1024) return n.ToString(CultureInfo.InvariantCulture) + "B";
        string[] units = ["K", "M", "G", "T", "P"];
        for (int i = 0; i < units.Length; i++)
        {
            d /= 1024;
            if (d < 1024 || i == units.Length - 1) return d.ToString("F2", CultureInfo.InvariantCulture) + units[i];
        }
        return n.ToString(CultureInfo.InvariantCulture) + "B";
    }
}
