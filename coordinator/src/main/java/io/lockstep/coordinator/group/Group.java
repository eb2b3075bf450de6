package io.lockstep.coordinator.group;

import io.lockstep.coordinator.server.CoordinatorServer;
import io.lockstep.coordinator.server.ServerConfig;

/** Makes the coordinator server of one node of a group. */
public final class Group {

    private Group() {
    }

    /**
     * The node {@code group} names, serving clients as {@code config} says, on a monotonic clock: a group's time is
     * continued by each leader from the time it took over at (see {@link ReplicatedLog#now}), so no wall clock moves it.
     */
    public static CoordinatorServer node(ServerConfig config, GroupConfig group) {
        return node(config, group, false);
    }

    /** The same; {@code join}: the node starts outside the group and waits to be added (see {@link ReplicatedLog}). */
    public static CoordinatorServer node(ServerConfig config, GroupConfig group, boolean join) {
        return new CoordinatorServer(config, new ReplicatedLog(group, config.bindHost(), join));
    }
}
