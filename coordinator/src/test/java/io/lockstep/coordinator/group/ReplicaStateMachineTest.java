package io.lockstep.coordinator.group;

import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.statemachine.TransactionContext;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The leader puts in its log only what its own process proposes, whoever else reaches Ratis's client path. */
class ReplicaStateMachineTest {

    private static RaftClientRequest request(ClientId from) {
        return RaftClientRequest.newBuilder().setClientId(from).setServerId(RaftPeerId.valueOf("n1"))
                .setGroupId(RaftGroupId.valueOf(UUID.randomUUID())).setCallId(1)
                .setMessage(Message.valueOf("61 bytes or any others")).setType(RaftClientRequest.writeRequestType())
                .build();
    }

    @Test
    void onlyThisNodesOwnProposalsBecomeLogEntries() throws Exception {
        ClientId own = ClientId.randomId();
        ReplicaStateMachine machine = new ReplicaStateMachine(null, null, own, null); // startTransaction needs none

        TransactionContext ours = machine.startTransaction(request(own));
        assertNull(ours.getException(), "the node's own proposal goes on");

        TransactionContext theirs = machine.startTransaction(request(ClientId.randomId()));
        assertNotNull(theirs.getException(), "anyone else's is refused");
        assertTrue(theirs.getException().getMessage().contains("only a Lockstep node's own proposals"),
                theirs.getException().getMessage());
    }
}
