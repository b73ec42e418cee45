// Package cluster holds what makes separate shard and proxy processes one
// cluster: gossip membership (who is up, where to reach it, what role it
// plays) and the controller that turns membership changes into versioned
// cluster maps.
//
// # Membership
//
// Membership wraps hashicorp/memberlist (SWIM gossip) for discovery and
// failure detection. Every shard and proxy calls Join with its NodeMeta
// (stable ID, role, addresses, zone) and a few seed addresses; afterwards
// every member sees every other member's metadata, and learns within about
// half a second on a LAN (DefaultTiming) that a member has failed or left.
//
// A sketch of a process's use of it:
//
//	m, err := cluster.Join(cluster.MembershipConfig{
//		Meta: cluster.NodeMeta{ID: "shard-1", Role: cluster.RoleShard,
//			RESPAddr: "10.0.0.5:7001", AdminAddr: "10.0.0.5:9101"},
//		BindAddr: "10.0.0.5", BindPort: 7946,
//		Seeds:    []string{"10.0.0.4:7946", "10.0.0.6:7946"},
//		Label:    "prod-eu",
//		Timing:   cluster.DefaultTiming(),
//	})
//	if err != nil { ... }
//	defer m.Shutdown()
//	go func() {
//		for ev := range m.Events() { // closed by Shutdown
//			view := m.Members() // current view, at least as new as ev
//			...
//		}
//	}()
//	...
//	_ = m.Leave(5 * time.Second) // on a clean stop: others see Leave, not Fail
//
// Membership is a sensor, not a decider: two members may briefly disagree
// about who is alive, and a member that stalls can be declared failed and
// come back. Only the controller decides who masters which partition, so
// those disagreements never produce two masters.
package cluster
