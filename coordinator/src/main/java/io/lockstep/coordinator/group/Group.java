package io.lockstep.coordinator.group;

import io.lockstep.coordinator.server.CoordinatorServer;
import io.lockstep.coordinator.server.ServerConfig;

/** Makes the coordinator server of one node of a group. */
public final class Group {

    private Group() {
    }

    /**
     * The node {@code group} names, serving clients as {@code config} says. Its clock is the wall clock: a group's
     * time is its leaders' clocks, stamped on every log entry.
     */
    public static CoordinatorServer node(ServerConfig config, GroupConfig group) {
        return new CoordinatorServer(config, ReplicatedLog.of(group, config.bindHost()), System::currentTimeMillis);
    }
}
