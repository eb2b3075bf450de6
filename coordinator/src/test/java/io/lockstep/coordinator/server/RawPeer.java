package io.lockstep.coordinator.server;

import io.lockstep.protocol.FrameEncoder;
import io.lockstep.protocol.Message;
import io.lockstep.protocol.MessageCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;

/** A hand-driven protocol peer over a plain socket: writes any bytes, reads frames. For tests. */
final class RawPeer implements AutoCloseable {
    private final Socket socket = new Socket();
    private final DataInputStream in;
    private final OutputStream out;

    RawPeer(InetSocketAddress address) throws IOException {
        socket.setTcpNoDelay(true); // as every Lockstep client: two small frames in a row must not wait for an ACK
        socket.connect(new InetSocketAddress("127.0.0.1", address.getPort()), 5000);
        socket.setSoTimeout(5000);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    RawPeer send(Message m) throws IOException {
        return sendBytes(frame(m));
    }

    /** The frame of {@code m}, as it goes on the wire (length prefix and all). */
    static byte[] frame(Message m) {
        ByteBuf b = Unpooled.buffer();
        FrameEncoder.writeFrame(m, b);
        byte[] bytes = new byte[b.readableBytes()];
        b.readBytes(bytes);
        b.release();
        return bytes;
    }

    RawPeer sendBytes(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    Message read() throws IOException {
        int length = in.readInt();
        byte[] body = new byte[length];
        in.readFully(body);
        return MessageCodec.decode(Unpooled.wrappedBuffer(body));
    }

    /** True when the coordinator has closed the connection (EOF or reset). */
    boolean closedByPeer() throws IOException {
        try {
            return in.read() < 0;
        } catch (EOFException | SocketException e) {
            return true;
        }
    }

    Message.Welcome handshake(String name) throws IOException {
        send(new Message.Hello(name));
        return (Message.Welcome) read();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
