package io.lockstep.coordinator.group;

import org.apache.ratis.grpc.server.GrpcServices;
import org.apache.ratis.proto.grpc.RaftServerProtocolServiceGrpc;
import org.apache.ratis.thirdparty.io.grpc.Grpc;
import org.apache.ratis.thirdparty.io.grpc.Metadata;
import org.apache.ratis.thirdparty.io.grpc.ServerCall;
import org.apache.ratis.thirdparty.io.grpc.ServerCallHandler;
import org.apache.ratis.thirdparty.io.grpc.ServerInterceptor;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.apache.ratis.thirdparty.io.grpc.netty.NettyServerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.EnumSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * What a node's Raft port serves: Ratis's service between servers (append, vote, snapshot), and nothing else. Ratis
 * puts its client service (submit a log entry) and its admin service (change the members, move the leader, pause
 * elections, take snapshots) on the same port, with no authentication of their own; a Lockstep node proposes through
 * its own process only, and membership and leadership change through Lockstep's authenticated path, so every call to
 * those services is refused before Ratis sees it — whoever makes it, with or without a certificate.
 *
 * <p>Called on gRPC's threads; the count is thread-safe.
 */
final class PeerServicesOnly implements GrpcServices.Customizer, ServerInterceptor {

    private static final Logger log = LoggerFactory.getLogger(PeerServicesOnly.class);
    /** At most one warning about refused calls this often. */
    private static final long WARN_EVERY_NANOS = 10_000_000_000L;

    private final LongAdder refused = new LongAdder();
    private final AtomicLong lastWarned = new AtomicLong(System.nanoTime() - WARN_EVERY_NANOS);

    @Override
    public NettyServerBuilder customize(NettyServerBuilder builder, EnumSet<GrpcServices.Type> types) {
        return builder.intercept(this);
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                      ServerCallHandler<Q, A> next) {
        if (RaftServerProtocolServiceGrpc.SERVICE_NAME.equals(call.getMethodDescriptor().getServiceName())) {
            return next.startCall(call, headers);
        }
        refused.increment();
        long now = System.nanoTime();
        long last = lastWarned.get();
        if (now - last >= WARN_EVERY_NANOS && lastWarned.compareAndSet(last, now)) {
            log.warn("refused {} from {}: a node's Raft port serves only the other nodes' Raft traffic "
                            + "({} such calls refused so far)", call.getMethodDescriptor().getFullMethodName(),
                    call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR), refused.sum());
        }
        call.close(Status.PERMISSION_DENIED.withDescription("this port serves only the Raft traffic between the "
                + "nodes of a Lockstep group"), new Metadata());
        return new ServerCall.Listener<>() {
        };
    }

    /** Calls refused so far. */
    long refused() {
        return refused.sum();
    }
}
