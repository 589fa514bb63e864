package flamegraph

import (
	"sort"
	"strings"
)

// node is one frame of the merged call tree: the samples of every stack
// that passes through it (total) and its callees, sorted by name.
type node struct {
	name     string
	total    uint64
	children []*node
	index    map[string]*node // while building
}

// tree merges the stacks under one root named root, as flamegraph.pl
// draws its "all" frame, and returns it with the depth of the deepest
// stack (the root is depth 0).
func (p *Profile) tree(root string) (*node, int) {
	top := &node{name: root}
	depth := 0
	for k, n := range p.counts {
		cur := top
		cur.total = addSat(cur.total, n)
		d := 0
		for f := range strings.SplitSeq(k, ";") {
			if cur.index == nil {
				cur.index = map[string]*node{}
			}
			c := cur.index[f]
			if c == nil {
				c = &node{name: f}
				cur.index[f] = c
				cur.children = append(cur.children, c)
			}
			c.total = addSat(c.total, n)
			cur = c
			d++
		}
		depth = max(depth, d)
	}
	top.sort()
	return top, depth
}

func (n *node) sort() {
	n.index = nil
	sort.Slice(n.children, func(i, j int) bool { return n.children[i].name < n.children[j].name })
	for _, c := range n.children {
		c.sort()
	}
}
