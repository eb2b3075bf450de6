package io.lockstep.coordinator.group;

import org.apache.ratis.proto.RaftProtos.CandidateInfoProto;
import org.apache.ratis.proto.RaftProtos.FollowerInfoProto;
import org.apache.ratis.proto.RaftProtos.LeaderInfoProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.proto.RaftProtos.ServerRpcProto;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * What {@code /readyz} says of a node of a group of three, from Ratis's view of its role: a leader, a follower, a
 * node cut off from the majority (as leader, and as follower), one still catching up, one in an election.
 */
class ReadinessTest {

    private static ServerRpcProto heard(String id, long msAgo) {
        return ServerRpcProto.newBuilder().setId(RaftPeerProto.newBuilder().setId(ByteString.copyFromUtf8(id)))
                .setLastRpcElapsedTimeMs(msAgo).build();
    }

    private static RoleInfoProto leader(long... followersHeardMsAgo) {
        LeaderInfoProto.Builder l = LeaderInfoProto.newBuilder();
        for (int i = 0; i < followersHeardMsAgo.length; i++) {
            l.addFollowerInfo(heard("n" + (i + 2), followersHeardMsAgo[i]));
        }
        return RoleInfoProto.newBuilder().setRole(RaftPeerRole.LEADER).setLeaderInfo(l).build();
    }

    private static RoleInfoProto follower(String leader, long heardMsAgo) {
        return RoleInfoProto.newBuilder().setRole(RaftPeerRole.FOLLOWER)
                .setFollowerInfo(FollowerInfoProto.newBuilder().setLeaderInfo(heard(leader, heardMsAgo))).build();
    }

    @Test
    void aLeaderThatHearsAMajorityAndAFollowerThatHearsItsLeaderAndHasAppliedAllAreReady() {
        assertNull(ReplicatedLog.readiness(leader(20, 5000), true, 3, 10, 10));
        assertNull(ReplicatedLog.readiness(follower("n1", 30), false, 3, 10, 10));
    }

    @Test
    void aNodeCutOffFromTheMajorityIsNotReadyAndSaysWhy() {
        assertEquals("leader, but it has heard from only 1 of 3 nodes (itself included) within 1000 ms",
                ReplicatedLog.readiness(leader(2300, 2300), true, 3, 10, 10));
        assertEquals("the leader n1 was last heard 2300 ms ago",
                ReplicatedLog.readiness(follower("n1", 2300), false, 3, 10, 10));
        assertEquals("no leader is known (candidate)", ReplicatedLog.readiness(RoleInfoProto.newBuilder()
                .setRole(RaftPeerRole.CANDIDATE).setCandidateInfo(CandidateInfoProto.newBuilder()).build(), false, 3,
                10, 10));
    }

    @Test
    void aNodeStillCatchingUpOrTakingOverIsNotReady() {
        assertEquals("catching up: 120 of 450 committed entries applied",
                ReplicatedLog.readiness(follower("n1", 10), false, 3, 450, 120));
        assertEquals("elected leader, taking over", ReplicatedLog.readiness(leader(10, 10), false, 3, 10, 10));
    }
}
