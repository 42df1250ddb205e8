package media

import (
	"github.com/cilium/ebpf/asm"
)

// The fast path's map: one entry per (peer, relay port) whose packets the
// kernel forwards. Keys and values are laid out by hand (there is no C
// compiler in the build), so these offsets are the program's and
// kernelEntry's shared contract.
const (
	kernelKeySize = 20
	keyAddr       = 0  // [16]byte: the peer's address, IPv4 as ::ffff:a.b.c.d
	keyPeerPort   = 16 // big-endian
	keyLocalPort  = 18 // big-endian: our socket's port

	valOutKey   = 0   // [20]byte: the key of the other side's entry
	valFlags    = 20  // u8, kflag*
	valStarted  = 21  // u8: the loss state below is valid
	valHighest  = 22  // u16: highest RTP sequence number seen
	valOurIP    = 24  // [16]byte: the address this peer sends to (IPv4 in the first 4)
	valIfindex  = 40  // u32: the interface this peer's packets arrive on
	valOurMAC   = 44  // [6]byte: that interface's address (their destination)
	valPeerMAC  = 50  // [6]byte: their source: the peer or its router
	valPackets  = 56  // u64: packets from this peer forwarded by the kernel
	valBytes    = 64  // u64: their RTP/RTCP bytes
	valLastNs   = 72  // u64: CLOCK_MONOTONIC of the last packet from this peer
	valSeen     = 80  // u64: lossTracker.seen
	valLost     = 88  // s64: RTP packets missing since the entry was installed
	valSSRC     = 96  // u32, as on the wire
	valPTMap    = 100 // [kernelPTPairs][2]byte: payload type from, to; from 0xff: unused
	kernelValSz = 112
)

const (
	kflagLearned = 1 // valOurIP, valIfindex and the MACs are known
	kflagV6      = 2 // valOurIP is IPv6
	kflagRTP     = 4 // an RTP socket: track loss
)

// Offsets into struct __sk_buff (include/uapi/linux/bpf.h).
const (
	skbVlanPresent    = 20
	skbIngressIfindex = 36
	skbData           = 76
	skbDataEnd        = 80
	skbGSOSize        = 176
)

// TCX verdicts and helper flags (include/uapi/linux/bpf.h).
const (
	tcxNext      = -1 // not ours: let the next program and the stack have it
	tcxPass      = 0
	bpfFPseudo   = 0x10 // BPF_F_PSEUDO_HDR
	bpfFMangled0 = 0x20 // BPF_F_MARK_MANGLED_0
	ethHdr       = 14
	forwardTTL   = 64 // like a packet the relay's own socket would send
)

// Stack slots (below R10).
const (
	stKey = -24  // 20 bytes: the lookup key
	stOld = -64  // 36 bytes: the packet's addresses and ports
	stNew = -104 // 36 bytes: what replaces them
	stLen = -112 // u64: payload bytes
	// u64 each: the payload's first 16 bits before and after renumbering.
	stPTOld = -120
	stPTNew = -128
)

// family is what differs between the IPv4 and IPv6 halves of the program.
type family struct {
	v6      bool
	prefix  string // label prefix
	src     int16  // source address offset in the frame
	addrLen int16  // 4 or 16
	udp     int16  // UDP header offset
}

var (
	famV4 = family{prefix: "v4_", src: ethHdr + 12, addrLen: 4, udp: ethHdr + 20}
	famV6 = family{v6: true, prefix: "v6_", src: ethHdr + 8, addrLen: 16, udp: ethHdr + 40}
)

func (f family) payload() int16 { return f.udp + 8 }
func (f family) dst() int16     { return f.src + f.addrLen }

// kernelProgram is the tc ingress program. For a UDP packet from a peer
// whose (address, port, our port) has an entry it records where the peer
// is (interface, MACs, our address as the peer sees it), tracks RTP loss
// and, if the other side's entry has learned where that side is, rewrites
// the packet as if our socket on that side had sent it (addresses, ports,
// TTL, MACs, checksums) and sends it out of the interface that side's
// packets come from. Everything else goes on up the stack untouched, to
// the relay's sockets: unknown peers, junk, IP options, fragments, GSO,
// VLAN-tagged frames, a side not heard from yet, IPv4 to IPv6.
//
// loIfindex is the loopback interface: a packet that came in on it and
// goes out to it is handed on up the stack rather than looped through it
// again.
func kernelProgram(legsFD int, loIfindex int32) asm.Instructions {
	p := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.LoadMem(asm.R1, asm.R6, skbGSOSize, asm.Word),
		asm.JNE.Imm(asm.R1, 0, "pass"),
		asm.LoadMem(asm.R1, asm.R6, skbVlanPresent, asm.Word),
		asm.JNE.Imm(asm.R1, 0, "pass"),
		asm.LoadMem(asm.R8, asm.R6, skbData, asm.Word),
		asm.LoadMem(asm.R9, asm.R6, skbDataEnd, asm.Word),
		asm.Mov.Reg(asm.R1, asm.R8),
		asm.Add.Imm(asm.R1, ethHdr),
		asm.JGT.Reg(asm.R1, asm.R9, "pass"),
		asm.LoadMem(asm.R1, asm.R8, 12, asm.Half),
		asm.JEq.Imm(asm.R1, 0x0008, "v4_parse"), // 0x0800 as read little-endian
		asm.JEq.Imm(asm.R1, 0xdd86, "v6_parse"),
		asm.Ja.Label("pass"),
	}
	p = append(p, parseV4()...)
	p = append(p, parseV6()...)
	for _, f := range []family{famV4, famV6} {
		p = append(p, lookupAndLearn(f, legsFD)...)
		p = append(p, trackLoss(f)...)
		p = append(p, forward(f, legsFD, loIfindex)...)
	}
	return append(p,
		asm.Mov.Imm(asm.R0, tcxNext).WithSymbol("pass"),
		asm.Return(),
	)
}

// parseV4 checks an IPv4 UDP header without options or fragmentation and
// builds the key; R8 is the frame, R9 its end.
func parseV4() asm.Instructions {
	f := famV4
	return asm.Instructions{
		asm.Mov.Reg(asm.R1, asm.R8).WithSymbol("v4_parse"),
		asm.Add.Imm(asm.R1, int32(f.payload())+4),
		asm.JGT.Reg(asm.R1, asm.R9, "pass"),
		asm.LoadMem(asm.R1, asm.R8, ethHdr, asm.Byte),
		asm.JNE.Imm(asm.R1, 0x45, "pass"),
		asm.LoadMem(asm.R1, asm.R8, ethHdr+9, asm.Byte),
		asm.JNE.Imm(asm.R1, 17, "pass"),
		asm.LoadMem(asm.R1, asm.R8, ethHdr+6, asm.Half),
		asm.And.Imm(asm.R1, 0xff3f), // MF and the fragment offset
		asm.JNE.Imm(asm.R1, 0, "pass"),
		asm.Mov.Imm(asm.R1, 0),
		asm.StoreMem(asm.RFP, stKey, asm.R1, asm.DWord),
		asm.StoreImm(asm.RFP, stKey+8, 0, asm.Half),
		asm.StoreImm(asm.RFP, stKey+10, -1, asm.Half),
		asm.LoadMem(asm.R1, asm.R8, f.src, asm.Word),
		asm.StoreMem(asm.RFP, stKey+12, asm.R1, asm.Word),
		asm.LoadMem(asm.R1, asm.R8, f.udp, asm.Word), // both ports
		asm.StoreMem(asm.RFP, stKey+16, asm.R1, asm.Word),
		asm.Ja.Label("v4_lookup"),
	}
}

// parseV6 checks an IPv6 UDP header without extension headers and builds
// the key.
func parseV6() asm.Instructions {
	f := famV6
	return asm.Instructions{
		asm.Mov.Reg(asm.R1, asm.R8).WithSymbol("v6_parse"),
		asm.Add.Imm(asm.R1, int32(f.payload())+4),
		asm.JGT.Reg(asm.R1, asm.R9, "pass"),
		asm.LoadMem(asm.R1, asm.R8, ethHdr, asm.Byte),
		asm.RSh.Imm(asm.R1, 4),
		asm.JNE.Imm(asm.R1, 6, "pass"),
		asm.LoadMem(asm.R1, asm.R8, ethHdr+6, asm.Byte),
		asm.JNE.Imm(asm.R1, 17, "pass"),
		asm.LoadMem(asm.R1, asm.R8, f.src, asm.DWord),
		asm.StoreMem(asm.RFP, stKey, asm.R1, asm.DWord),
		asm.LoadMem(asm.R1, asm.R8, f.src+8, asm.DWord),
		asm.StoreMem(asm.RFP, stKey+8, asm.R1, asm.DWord),
		asm.LoadMem(asm.R1, asm.R8, f.udp, asm.Word),
		asm.StoreMem(asm.RFP, stKey+16, asm.R1, asm.Word),
		asm.Ja.Label("v6_lookup"),
	}
}

// lookupAndLearn finds the sender's entry (R7) and records where the
// sender is and when it was last heard.
func lookupAndLearn(f family, legsFD int) asm.Instructions {
	flags := int32(kflagLearned)
	if f.v6 {
		flags |= kflagV6
	}
	p := asm.Instructions{
		asm.LoadMapPtr(asm.R1, legsFD).WithSymbol(f.prefix + "lookup"),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, stKey),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "pass"),
		asm.Mov.Reg(asm.R7, asm.R0),
		asm.LoadMem(asm.R1, asm.R6, skbIngressIfindex, asm.Word),
		asm.StoreMem(asm.R7, valIfindex, asm.R1, asm.Word),
	}
	// Our MAC is the frame's destination, the peer's its source.
	p = append(p, copyBytes(asm.R7, valOurMAC, asm.R8, 0, 6)...)
	p = append(p, copyBytes(asm.R7, valPeerMAC, asm.R8, 6, 6)...)
	p = append(p, copyBytes(asm.R7, valOurIP, asm.R8, f.dst(), int(f.addrLen))...)
	return append(p,
		asm.LoadMem(asm.R1, asm.R7, valFlags, asm.Byte),
		asm.And.Imm(asm.R1, kflagRTP),
		asm.Or.Imm(asm.R1, flags),
		asm.StoreMem(asm.R7, valFlags, asm.R1, asm.Byte),
		asm.FnKtimeGetNs.Call(),
		asm.StoreMem(asm.R7, valLastNs, asm.R0, asm.DWord),
	)
}

// trackLoss is lossTracker.observe over the entry's state, for RTP on an
// RTP socket; junk (not RTP version 2, or RTP shorter than its header) is
// left to the relay, which counts and drops it.
func trackLoss(f family) asm.Instructions {
	pl := f.payload()
	l := func(s string) string { return f.prefix + s }
	return asm.Instructions{
		asm.LoadMem(asm.R1, asm.R8, pl, asm.Byte),
		asm.RSh.Imm(asm.R1, 6),
		asm.JNE.Imm(asm.R1, 2, "pass"),
		asm.LoadMem(asm.R1, asm.R7, valFlags, asm.Byte),
		asm.And.Imm(asm.R1, kflagRTP),
		asm.JEq.Imm(asm.R1, 0, l("fwd")),
		asm.LoadMem(asm.R1, asm.R8, pl+1, asm.Byte),
		asm.And.Imm(asm.R1, 0x7f),
		asm.JLT.Imm(asm.R1, 64, l("rtp")),
		asm.JLE.Imm(asm.R1, 95, l("fwd")), // RTCP muxed onto the RTP port
		asm.Mov.Reg(asm.R1, asm.R8).WithSymbol(l("rtp")),
		asm.Add.Imm(asm.R1, int32(pl)+12),
		asm.JGT.Reg(asm.R1, asm.R9, "pass"),
		asm.LoadMem(asm.R2, asm.R8, pl+2, asm.Half),
		asm.HostTo(asm.BE, asm.R2, asm.Half), // R2: sequence number
		asm.LoadMem(asm.R3, asm.R8, pl+8, asm.Word),
		asm.LoadMem(asm.R1, asm.R7, valStarted, asm.Byte),
		asm.JEq.Imm(asm.R1, 0, l("restart")),
		asm.LoadMem(asm.R1, asm.R7, valSSRC, asm.Word),
		asm.JNE.Reg(asm.R1, asm.R3, l("restart")),
		asm.LoadMem(asm.R4, asm.R7, valHighest, asm.Half),
		asm.Mov.Reg(asm.R5, asm.R2),
		asm.Sub.Reg(asm.R5, asm.R4),
		asm.And.Imm(asm.R5, 0xffff), // R5: distance ahead of the highest
		asm.JEq.Imm(asm.R5, 0, l("fwd")),
		asm.JGE.Imm(asm.R5, 0x8000, l("behind")),
		asm.StoreMem(asm.R7, valHighest, asm.R2, asm.Half),
		asm.JGT.Imm(asm.R5, maxGap, l("newstream")),
		asm.Mov.Imm(asm.R1, 1),
		asm.JGE.Imm(asm.R5, 64, l("setseen")),
		asm.LoadMem(asm.R1, asm.R7, valSeen, asm.DWord),
		asm.LSh.Reg(asm.R1, asm.R5),
		asm.Or.Imm(asm.R1, 1),
		asm.StoreMem(asm.R7, valSeen, asm.R1, asm.DWord).WithSymbol(l("setseen")),
		asm.Sub.Imm(asm.R5, 1),
		asm.LoadMem(asm.R1, asm.R7, valLost, asm.DWord),
		asm.Add.Reg(asm.R1, asm.R5),
		asm.StoreMem(asm.R7, valLost, asm.R1, asm.DWord),
		asm.Ja.Label(l("fwd")),

		asm.Mov.Imm(asm.R1, -1).WithSymbol(l("newstream")),
		asm.StoreMem(asm.R7, valSeen, asm.R1, asm.DWord),
		asm.Ja.Label(l("fwd")),

		asm.Mov.Reg(asm.R5, asm.R4).WithSymbol(l("behind")),
		asm.Sub.Reg(asm.R5, asm.R2),
		asm.And.Imm(asm.R5, 0xffff), // R5: distance behind the highest
		asm.JGE.Imm(asm.R5, 64, l("fwd")),
		asm.Mov.Imm(asm.R1, 1),
		asm.LSh.Reg(asm.R1, asm.R5),
		asm.LoadMem(asm.R4, asm.R7, valSeen, asm.DWord),
		asm.Mov.Reg(asm.R0, asm.R4),
		asm.And.Reg(asm.R0, asm.R1),
		asm.JNE.Imm(asm.R0, 0, l("fwd")), // a duplicate
		asm.Or.Reg(asm.R4, asm.R1),
		asm.StoreMem(asm.R7, valSeen, asm.R4, asm.DWord),
		asm.LoadMem(asm.R1, asm.R7, valLost, asm.DWord),
		asm.Sub.Imm(asm.R1, 1),
		asm.StoreMem(asm.R7, valLost, asm.R1, asm.DWord),
		asm.Ja.Label(l("fwd")),

		asm.StoreImm(asm.R7, valStarted, 1, asm.Byte).WithSymbol(l("restart")),
		asm.StoreMem(asm.R7, valSSRC, asm.R3, asm.Word),
		asm.StoreMem(asm.R7, valHighest, asm.R2, asm.Half),
		asm.Mov.Imm(asm.R1, -1),
		asm.StoreMem(asm.R7, valSeen, asm.R1, asm.DWord),
	}
}

// forward looks up the other side's entry (R9) and, if it knows where
// that side is, rewrites the packet toward it and sends it.
func forward(f family, legsFD int, loIfindex int32) asm.Instructions {
	l := func(s string) string { return f.prefix + s }
	block := int32(2*f.addrLen) + 4 // addresses and ports
	p := asm.Instructions{
		asm.LoadMapPtr(asm.R1, legsFD).WithSymbol(l("fwd")),
		asm.Mov.Reg(asm.R2, asm.R7), // the value starts with the other side's key
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "pass"),
		asm.Mov.Reg(asm.R9, asm.R0),
		asm.LoadMem(asm.R1, asm.R9, valFlags, asm.Byte),
		asm.Mov.Reg(asm.R2, asm.R1),
		asm.And.Imm(asm.R2, kflagLearned),
		asm.JEq.Imm(asm.R2, 0, "pass"),
		asm.And.Imm(asm.R1, kflagV6),
	}
	if f.v6 {
		p = append(p, asm.JEq.Imm(asm.R1, 0, "pass"))
	} else {
		p = append(p, asm.JNE.Imm(asm.R1, 0, "pass"))
	}
	// The payload length, for the byte counter.
	p = append(p,
		asm.LoadMem(asm.R1, asm.R8, f.udp+4, asm.Half),
		asm.HostTo(asm.BE, asm.R1, asm.Half),
		asm.Sub.Imm(asm.R1, 8),
		asm.StoreMem(asm.RFP, stLen, asm.R1, asm.DWord),
	)
	// Old addresses and ports, then the new: from our address toward that
	// side, to that side's peer, from that side's port, to the peer's.
	p = append(p, copyBytes(asm.RFP, stOld, asm.R8, f.src, int(block))...)
	p = append(p, copyBytes(asm.RFP, stNew, asm.R9, valOurIP, int(f.addrLen))...)
	p = append(p, copyBytes(asm.RFP, stNew+f.addrLen, asm.R7, keyAddr+16-f.addrLen, int(f.addrLen))...)
	p = append(p, copyBytes(asm.RFP, stNew+2*f.addrLen, asm.R7, keyLocalPort, 2)...)
	p = append(p, copyBytes(asm.RFP, stNew+2*f.addrLen+2, asm.R7, keyPeerPort, 2)...)
	p = append(p, copyBytes(asm.R8, f.src, asm.RFP, stNew, int(block))...)
	// MACs: to that side's peer (or router), from our interface there.
	p = append(p, copyBytes(asm.R8, 0, asm.R9, valPeerMAC, 6)...)
	p = append(p, copyBytes(asm.R8, 6, asm.R9, valOurMAC, 6)...)
	p = append(p, renumber(f)...)
	if f.v6 {
		p = append(p, asm.StoreImm(asm.R8, ethHdr+7, forwardTTL, asm.Byte))
	} else {
		p = append(p, ipv4Checksum()...)
	}
	p = append(p, udpChecksum(f)...)
	p = append(p, renumberChecksum(f)...)
	return append(p,
		asm.Mov.Imm(asm.R1, 1),
		asm.AddAtomic.Mem(asm.R7, asm.R1, asm.DWord, valPackets),
		asm.LoadMem(asm.R1, asm.RFP, stLen, asm.DWord),
		asm.AddAtomic.Mem(asm.R7, asm.R1, asm.DWord, valBytes),
		asm.LoadMem(asm.R1, asm.R9, valIfindex, asm.Word),
		asm.JNE.Imm(asm.R1, loIfindex, l("redirect")),
		asm.LoadMem(asm.R2, asm.R6, skbIngressIfindex, asm.Word),
		asm.JNE.Imm(asm.R2, loIfindex, l("redirect")),
		// Loopback in and out: the stack delivers it to the local peer.
		asm.Mov.Imm(asm.R0, tcxPass),
		asm.Return(),
		asm.Mov.Imm(asm.R2, 0).WithSymbol(l("redirect")),
		asm.FnRedirect.Call(),
		asm.Return(),
	)
}

// renumber rewrites an RTP packet's payload type by the sender's entry
// (ptTable.rewrite: the marker bit kept), leaving the payload's first 16
// bits before and after in stPTOld and stPTNew for the checksum.
func renumber(f family) asm.Instructions {
	pl := f.payload()
	l := func(s string) string { return f.prefix + s }
	p := asm.Instructions{
		asm.LoadMem(asm.R1, asm.R8, pl, asm.Half),
		asm.StoreMem(asm.RFP, stPTOld, asm.R1, asm.DWord),
		asm.StoreMem(asm.RFP, stPTNew, asm.R1, asm.DWord),
		asm.LoadMem(asm.R2, asm.R7, valFlags, asm.Byte),
		asm.And.Imm(asm.R2, kflagRTP),
		asm.JEq.Imm(asm.R2, 0, l("renumbered")),
		asm.LoadMem(asm.R2, asm.R8, pl+1, asm.Byte),
		asm.Mov.Reg(asm.R3, asm.R2),
		asm.And.Imm(asm.R3, 0x7f), // R3: the payload type
		asm.JLT.Imm(asm.R3, 64, l("pt0")),
		asm.JLE.Imm(asm.R3, 95, l("renumbered")), // RTCP
	}
	for i := range kernelPTPairs {
		next := l("pt" + string(rune('1'+i)))
		if i == kernelPTPairs-1 {
			next = l("renumbered")
		}
		p = append(p,
			asm.LoadMem(asm.R4, asm.R7, int16(valPTMap+2*i), asm.Byte).WithSymbol(l("pt"+string(rune('0'+i)))),
			asm.JNE.Reg(asm.R4, asm.R3, next),
			asm.LoadMem(asm.R4, asm.R7, int16(valPTMap+2*i+1), asm.Byte),
			asm.And.Imm(asm.R2, 0x80),
			asm.Or.Reg(asm.R2, asm.R4),
			asm.StoreMem(asm.R8, pl+1, asm.R2, asm.Byte),
			asm.LoadMem(asm.R1, asm.R8, pl, asm.Half),
			asm.StoreMem(asm.RFP, stPTNew, asm.R1, asm.DWord),
			asm.Ja.Label(l("renumbered")),
		)
	}
	// A harmless write to carry the label.
	return append(p, asm.Mov.Imm(asm.R1, 0).WithSymbol(l("renumbered")))
}

// renumberChecksum updates the UDP checksum for a renumbered payload type.
func renumberChecksum(f family) asm.Instructions {
	l := func(s string) string { return f.prefix + s }
	mangled := int32(0)
	if !f.v6 {
		mangled = bpfFMangled0
	}
	return asm.Instructions{
		asm.LoadMem(asm.R3, asm.RFP, stPTOld, asm.DWord),
		asm.LoadMem(asm.R4, asm.RFP, stPTNew, asm.DWord),
		asm.JEq.Reg(asm.R3, asm.R4, l("csumdone")),
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.Mov.Imm(asm.R2, int32(f.udp+6)),
		asm.Mov.Imm(asm.R5, 2|mangled),
		asm.FnL4CsumReplace.Call(),
		asm.Mov.Imm(asm.R1, 0).WithSymbol(l("csumdone")),
	}
}

// ipv4Checksum sets the TTL and recomputes the header checksum over the
// rewritten IPv4 header (no options).
func ipv4Checksum() asm.Instructions {
	return asm.Instructions{
		asm.StoreImm(asm.R8, ethHdr+8, forwardTTL, asm.Byte),
		asm.StoreImm(asm.R8, ethHdr+10, 0, asm.Half),
		asm.Mov.Imm(asm.R1, 0),
		asm.Mov.Imm(asm.R2, 0),
		asm.Mov.Reg(asm.R3, asm.R8),
		asm.Add.Imm(asm.R3, ethHdr),
		asm.Mov.Imm(asm.R4, 20),
		asm.Mov.Imm(asm.R5, 0),
		asm.FnCsumDiff.Call(),
		asm.Mov.Reg(asm.R1, asm.R0),
		asm.RSh.Imm(asm.R1, 16),
		asm.And.Imm(asm.R0, 0xffff),
		asm.Add.Reg(asm.R0, asm.R1),
		asm.Mov.Reg(asm.R1, asm.R0),
		asm.RSh.Imm(asm.R1, 16),
		asm.And.Imm(asm.R0, 0xffff),
		asm.Add.Reg(asm.R0, asm.R1),
		asm.Xor.Imm(asm.R0, 0xffff),
		asm.StoreMem(asm.R8, ethHdr+10, asm.R0, asm.Half),
	}
}

// udpChecksum updates the UDP checksum for the new addresses (part of the
// pseudo-header) and ports: two differences, since a checksum the NIC or
// the stack has yet to complete covers the one and not the other. The
// helpers may move the packet, so nothing reads R8 after them.
func udpChecksum(f family) asm.Instructions {
	mangled := int32(0)
	if !f.v6 {
		mangled = bpfFMangled0 // an IPv4 UDP checksum of 0 means none
	}
	csumOff := int32(f.udp + 6)
	diff := func(oldOff, newOff int16, n int32) asm.Instructions {
		return asm.Instructions{
			asm.Mov.Reg(asm.R1, asm.RFP),
			asm.Add.Imm(asm.R1, int32(oldOff)),
			asm.Mov.Imm(asm.R2, n),
			asm.Mov.Reg(asm.R3, asm.RFP),
			asm.Add.Imm(asm.R3, int32(newOff)),
			asm.Mov.Imm(asm.R4, n),
			asm.Mov.Imm(asm.R5, 0),
			asm.FnCsumDiff.Call(),
		}
	}
	replace := func(flags int32) asm.Instructions {
		return asm.Instructions{
			asm.Mov.Reg(asm.R4, asm.R0),
			asm.Mov.Reg(asm.R1, asm.R6),
			asm.Mov.Imm(asm.R2, csumOff),
			asm.Mov.Imm(asm.R3, 0),
			asm.Mov.Imm(asm.R5, flags),
			asm.FnL4CsumReplace.Call(),
		}
	}
	addrs := int32(2 * f.addrLen)
	var p asm.Instructions
	p = append(p, diff(stOld, stNew, addrs)...)
	p = append(p, replace(bpfFPseudo|mangled)...)
	p = append(p, diff(stOld+int16(addrs), stNew+int16(addrs), 4)...)
	return append(p, replace(mangled)...)
}

// copyBytes copies n bytes (n a multiple of 2) with the widest loads the
// offsets allow; R1 is the scratch register.
func copyBytes(dst asm.Register, dstOff int16, src asm.Register, srcOff int16, n int) asm.Instructions {
	var p asm.Instructions
	for n > 0 {
		size, w := asm.Half, 2
		switch {
		case n >= 8:
			size, w = asm.DWord, 8
		case n >= 4:
			size, w = asm.Word, 4
		}
		p = append(p,
			asm.LoadMem(asm.R1, src, srcOff, size),
			asm.StoreMem(dst, dstOff, asm.R1, size),
		)
		n -= w
		srcOff += int16(w)
		dstOff += int16(w)
	}
	return p
}
