package io.lockstep.coordinator.group;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * This node's place in a coordinator group: its id, every member's address for the group's own (Raft) traffic, how
 * that traffic is secured, and where it keeps its log and snapshots.
 *
 * @param nodeId    this node, one of {@code peers}
 * @param peers     every member, by id, with the {@code host:port} of its Raft traffic
 * @param dataDir   the log and snapshots of this node
 * @param memoryLog     keep the log in memory only (faster; an arrival is acknowledged once a majority holds it in
 *                      memory, so losing a majority at once loses it)
 * @param snapshotEvery log entries between snapshots of the state (the log before a snapshot can then go)
 * @param peerTls       mutual TLS between the nodes, or null for plaintext
 * @param peerInsecure  plaintext between nodes that are not all on loopback was asked for on purpose
 */
public record GroupConfig(String nodeId, Map<String, String> peers, Path dataDir, boolean memoryLog,
                          long snapshotEvery, PeerTls peerTls, boolean peerInsecure) {

    /** Log entries between snapshots unless configured. */
    public static final long DEFAULT_SNAPSHOT_EVERY = 20_000;

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final Pattern ADDRESS = Pattern.compile("(\\[[0-9A-Fa-f:.]+]|[^:\\[\\]\\s]+):(\\d{1,5})");

    public GroupConfig {
        peers = Collections.unmodifiableMap(new LinkedHashMap<>(peers)); // in the order given
        if (!peers.containsKey(nodeId)) {
            throw new IllegalArgumentException("--node-id " + nodeId + " is not one of --peers " + peers.keySet());
        }
        if (peers.size() < 3) {
            throw new IllegalArgumentException("a group needs at least 3 nodes, so that one can fail; --peers names "
                    + peers.size());
        }
        if (snapshotEvery < 1) {
            throw new IllegalArgumentException("--snapshot-every must be at least 1, was " + snapshotEvery);
        }
        if (dataDir == null) {
            throw new IllegalArgumentException("a node of a group needs --data-dir for its log and snapshots");
        }
        if (peerTls != null && peerInsecure) {
            throw new IllegalArgumentException("--peer-insecure turns peer TLS off, and --peer-tls-* turn it on: give "
                    + "one or the other");
        }
        if (peerTls == null && !peerInsecure) {
            String remote = firstNotOnLoopback(peers);
            if (remote != null) {
                throw new IllegalArgumentException("the group's Raft traffic would cross the network in plaintext ("
                        + remote + " is not on loopback): anyone who reaches a peer port could read it and forge log "
                        + "entries. Give every node --peer-tls-cert, --peer-tls-key and --peer-tls-ca (mutual TLS "
                        + "with the group's CA), or --peer-insecure to run it in plaintext on a network you trust");
            }
        }
    }

    /** A node of a group on loopback, in plaintext: for tests and the benchmark's references. */
    public GroupConfig(String nodeId, Map<String, String> peers, Path dataDir, boolean memoryLog, long snapshotEvery) {
        this(nodeId, peers, dataDir, memoryLog, snapshotEvery, null, false);
    }

    /** True if every peer's host is this machine's loopback (so the Raft traffic never leaves it). */
    public boolean onLoopback() {
        return firstNotOnLoopback(peers) == null;
    }

    /** Raft traffic in plaintext that leaves this machine: what {@code --peer-insecure} allows. */
    public boolean plaintextAcrossNetwork() {
        return peerTls == null && !onLoopback();
    }

    /** The first peer, as {@code id=host:port}, whose host is not (or does not resolve only to) loopback; or null. */
    private static String firstNotOnLoopback(Map<String, String> peers) {
        for (Map.Entry<String, String> p : peers.entrySet()) {
            if (!loopback(host(p.getValue()))) {
                return p.getKey() + "=" + p.getValue();
            }
        }
        return null;
    }

    private static boolean loopback(String host) {
        try {
            InetAddress[] all = InetAddress.getAllByName(host);
            for (InetAddress a : all) {
                if (!a.isLoopbackAddress()) {
                    return false;
                }
            }
            return all.length > 0;
        } catch (UnknownHostException e) {
            return false; // not known here: it may be anywhere
        }
    }

    /** The host of {@code host:port}, an IPv6 literal without its brackets. */
    static String host(String address) {
        String h = address.substring(0, address.lastIndexOf(':'));
        return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
    }

    /** The members of {@code --peers n1=host1:7790,n2=host2:7790,n3=host3:7790}, in order. */
    public static Map<String, String> parsePeers(String spec) {
        Map<String, String> peers = new LinkedHashMap<>();
        for (String part : spec.split(",")) {
            String p = part.strip();
            int eq = p.indexOf('=');
            String id = eq < 0 ? "" : p.substring(0, eq).strip();
            String address = eq < 0 ? p : p.substring(eq + 1).strip();
            if (!ID.matcher(id).matches() || !ADDRESS.matcher(address).matches()
                    || Integer.parseInt(address.substring(address.lastIndexOf(':') + 1)) > 65535) {
                throw new IllegalArgumentException("'" + p + "' in --peers is not ID=HOST:PORT (as in "
                        + "n1=host1:7790,n2=host2:7790,n3=host3:7790)");
            }
            if (peers.put(id, address) != null) {
                throw new IllegalArgumentException("--peers names " + id + " twice");
            }
        }
        return peers;
    }

    /** The host part of this node's own peer address: where clients of this node are told to connect, too. */
    public String ownHost() {
        String a = peers.get(nodeId);
        return a.substring(0, a.lastIndexOf(':'));
    }

    /** The port of this node's Raft traffic. */
    public int ownPort() {
        String a = peers.get(nodeId);
        return Integer.parseInt(a.substring(a.lastIndexOf(':') + 1));
    }
}
