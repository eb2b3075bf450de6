package io.lockstep.client;

import java.time.Duration;
import java.util.List;

/**
 * A replicated coordinator group as one of its nodes sees it.
 *
 * @param self        the node that answered
 * @param leader      the node that leads, as far as it knows (empty if none)
 * @param term        the Raft term
 * @param commitIndex the highest log index known to be committed
 * @param nodes       every member, in the order of the group's {@code --peers}
 */
public record GroupStatus(String self, String leader, long term, long commitIndex, List<Node> nodes) {

    public GroupStatus {
        nodes = List.copyOf(nodes);
    }

    /**
     * One member.
     *
     * @param clientAddress where it serves clients: known for the leader, empty otherwise
     * @param role          {@code leader} or {@code follower}
     * @param matchIndex    the highest log index known to be on it, or -1 if the answering node does not know (only
     *                      the leader does)
     * @param lastContact   how long ago the leader last heard from it; null if unknown or the leader itself
     */
    public record Node(String id, String address, String clientAddress, String role, long matchIndex,
                       Duration lastContact) {

        /** Entries it is behind the commit index, or -1 if unknown. */
        public long lag(long commitIndex) {
            return matchIndex < 0 ? -1 : Math.max(0, commitIndex - matchIndex);
        }
    }
}
