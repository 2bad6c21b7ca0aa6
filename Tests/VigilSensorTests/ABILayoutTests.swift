// SPDX-License-Identifier: Apache-2.0
import CVigilBPF
import Testing
import VigilCore

/// The Swift decoder's offsets against the C header the BPF programs are compiled with.
@Suite struct ABILayoutTests {
    @Test func recordSizesMatchTheCHeader() {
        #expect(MemoryLayout<vigil_event_header>.size == EventLayout.headerSize)
        #expect(MemoryLayout<vigil_exec_event>.size == EventLayout.execFixedSize)
        #expect(MemoryLayout<vigil_fork_event>.size == EventLayout.forkSize)
        #expect(MemoryLayout<vigil_exit_event>.size == EventLayout.exitSize)
        #expect(MemoryLayout<vigil_open_event>.size == EventLayout.openFixedSize)
        #expect(MemoryLayout<vigil_net_event>.size == EventLayout.netSize)
    }

    @Test func fieldOffsetsMatchTheCHeader() {
        #expect(MemoryLayout<vigil_event_header>.offset(of: \.session) == 24)
        #expect(MemoryLayout<vigil_exec_event>.offset(of: \.path_len) == 72)
        #expect(MemoryLayout<vigil_exec_event>.offset(of: \.exe_dev) == 56)
        #expect(MemoryLayout<vigil_exec_event>.offset(of: \.exe_size) == 80)
        #expect(MemoryLayout<vigil_exec_event>.offset(of: \.exe_mtime_sec) == 88)
        #expect(MemoryLayout<vigil_exec_event>.offset(of: \.exe_ctime_sec) == 96)
        #expect(MemoryLayout<vigil_exec_event>.offset(of: \.exe_mtime_nsec) == 104)
        #expect(MemoryLayout<vigil_exec_event>.offset(of: \.exe_ctime_nsec) == 108)
        #expect(VIGIL_F_EXE_STAT.rawValue == EventFlags.exeStat.rawValue)
        #expect(MemoryLayout<vigil_open_event>.offset(of: \.path_len) == 48)
        #expect(MemoryLayout<vigil_open_event>.offset(of: \.flags) == 40)
        #expect(MemoryLayout<vigil_net_event>.offset(of: \.family) == 40)
        #expect(MemoryLayout<vigil_net_event>.offset(of: \.unix_path) == EventLayout.unixPathOffset)
        #expect(Int(VIGIL_UNIX_PATH_MAX) == EventLayout.unixPathMax)
        #expect(VIGIL_EVENT_EXEC.rawValue == 1 && VIGIL_EVENT_SEND.rawValue == 6)
    }
}
