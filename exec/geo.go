package exec

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/shardis/shardis/store"
)

// GEO commands, after Redis 7.0's geo.c. A GEO key is a sorted set whose
// scores are 52-bit geohashes (geohash.go), so the zset commands work on
// it unchanged. A search covers its shape with nine geohash boxes, each a
// range of scores, and walks only those ranges: O(log n + m) per box, as
// Redis's zset range lookups.

func init() {
	register(map[string]Func{
		"geoadd":               cmdGeoAdd,
		"geodist":              cmdGeoDist,
		"geohash":              cmdGeoHash,
		"geopos":               cmdGeoPos,
		"georadius":            cmdGeoRadius,
		"georadius_ro":         cmdGeoRadiusRO,
		"georadiusbymember":    cmdGeoRadiusByMember,
		"georadiusbymember_ro": cmdGeoRadiusByMemberRO,
		"geosearch":            cmdGeoSearch,
		"geosearchstore":       cmdGeoSearchStore,
	})
}

const (
	errGeoMember = Error("ERR could not decode requested zset member")
	errGeoUnit   = Error("ERR unsupported unit provided. please use M, KM, FT, MI")
	errGeoCount  = Error("ERR COUNT must be > 0")
	errGeoAny    = Error("ERR the ANY argument requires COUNT argument")
)

// geoOpt compares an option as strcasecmp sees the C string, which ends
// at the first NUL byte.
func geoOpt(b []byte, s string) bool {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return eqFold(b, s)
}

// geoCFloat is C's %f, which spells infinities inf and -inf.
func geoCFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return fmt.Sprintf("%f", f)
}

// geoParseLonLat is extractLongLatOrReply.
func geoParseLonLat(lon, lat []byte) ([2]float64, error) {
	var xy [2]float64
	var ok bool
	if xy[0], ok = zParseScore(lon); !ok {
		return xy, ErrNotFloat
	}
	if xy[1], ok = zParseScore(lat); !ok {
		return xy, ErrNotFloat
	}
	if xy[0] < geoLongMin || xy[0] > geoLongMax || xy[1] < geoLatMin || xy[1] > geoLatMax {
		return xy, Error("ERR invalid longitude,latitude pair " + geoCFloat(xy[0]) + "," + geoCFloat(xy[1]))
	}
	return xy, nil
}

// geoUnit is extractUnitOrReply: meters per unit.
func geoUnit(b []byte) (float64, error) {
	switch {
	case geoOpt(b, "m"):
		return 1, nil
	case geoOpt(b, "km"):
		return 1000, nil
	case geoOpt(b, "ft"):
		return 0.3048, nil
	case geoOpt(b, "mi"):
		return 1609.34, nil
	}
	return 0, errGeoUnit
}

// geoParseDistance is extractDistanceOrReply: "radius unit".
func geoParseDistance(s *geoShape, radius, unit []byte) error {
	d, ok := zParseScore(radius)
	if !ok {
		return Error("ERR need numeric radius")
	}
	if d < 0 {
		return Error("ERR radius cannot be negative")
	}
	conv, err := geoUnit(unit)
	if err != nil {
		return err
	}
	s.circle, s.radius, s.conversion = true, d, conv
	return nil
}

// geoParseBox is extractBoxOrReply: "width height unit".
func geoParseBox(s *geoShape, width, height, unit []byte) error {
	w, ok := zParseScore(width)
	if !ok {
		return Error("ERR need numeric width")
	}
	h, ok := zParseScore(height)
	if !ok {
		return Error("ERR need numeric height")
	}
	if h < 0 || w < 0 {
		return Error("ERR height or width cannot be negative")
	}
	conv, err := geoUnit(unit)
	if err != nil {
		return err
	}
	s.circle, s.width, s.height, s.conversion = false, w, h, conv
	return nil
}

// geoMemberPos is longLatFromMember.
func geoMemberPos(c *Ctx, key []byte, r *store.Record, member []byte) ([2]float64, bool) {
	score, ok := zsetScore(c, key, r, member)
	if !ok {
		return [2]float64{}, false
	}
	return geoDecodeScore(score), true
}

// geoReplyCoord writes a coordinate as addReplyHumanLongDouble: a RESP3
// double of "%.17Lf" less its trailing zeros (a bulk string of the same
// text in RESP2, which is what the proxy makes of a double).
func geoReplyCoord(c *Ctx, f float64) {
	s := strconv.FormatFloat(f, 'f', 17, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" {
		s = "0"
	}
	c.R.Raw([]byte("," + s + "\r\n"))
}

// geoReplyDistance is addReplyDoubleDistance: four decimals, as a bulk
// string.
func geoReplyDistance(c *Ctx, d float64) {
	c.R.BulkString(strconv.FormatFloat(d, 'f', 4, 64))
}

// ---- GEOADD, GEODIST, GEOHASH, GEOPOS ----

// cmdGeoAdd turns each longitude, latitude, member triple into a score
// and member pair and runs ZADD on them, as Redis does, options included.
func cmdGeoAdd(c *Ctx, args [][]byte) error {
	var nx, xx bool
	zargs := [][]byte{[]byte("zadd"), args[1]}
	i := 2
opts:
	for ; i < len(args); i++ {
		var opt string
		for _, o := range []string{"nx", "xx", "ch"} {
			if geoOpt(args[i], o) {
				opt = o
			}
		}
		switch opt {
		case "":
			break opts
		case "nx":
			nx = true
		case "xx":
			xx = true
		}
		zargs = append(zargs, []byte(opt))
	}
	if (len(args)-i)%3 != 0 || (xx && nx) {
		return ErrSyntax
	}
	for j := i; j < len(args); j += 3 {
		xy, err := geoParseLonLat(args[j], args[j+1])
		if err != nil {
			return err
		}
		h, _ := geohashEncodeWGS84(xy[0], xy[1], geoStepMax)
		zargs = append(zargs, strconv.AppendUint(nil, geoAlign52(h), 10), args[j+2])
	}
	return zaddGeneric(c, zargs, false)
}

func cmdGeoDist(c *Ctx, args [][]byte) error {
	toMeter := 1.0
	if len(args) == 5 {
		var err error
		if toMeter, err = geoUnit(args[4]); err != nil {
			return err
		}
	} else if len(args) > 5 {
		return ErrSyntax
	}
	key := args[1]
	r, ok, err := zsetGet(c, key)
	if err != nil {
		return err
	}
	s1, ok1 := zsetScore(c, key, &r, args[2])
	s2, ok2 := zsetScore(c, key, &r, args[3])
	if !ok || !ok1 || !ok2 {
		c.R.Null()
		return nil
	}
	a, b := geoDecodeScore(s1), geoDecodeScore(s2)
	geoReplyDistance(c, geoDistance(a[0], a[1], b[0], b[1])/toMeter)
	return nil
}

// cmdGeoHash replies the standard geohash: Redis decodes the position
// and re-encodes it with latitudes -90..90 rather than its own ±85.05.
func cmdGeoHash(c *Ctx, args [][]byte) error {
	const alphabet = "0123456789bcdefghjkmnpqrstuvwxyz"
	key := args[1]
	r, ok, err := zsetGet(c, key)
	if err != nil {
		return err
	}
	c.R.Array(len(args) - 2)
	for _, m := range args[2:] {
		score, found := zsetScore(c, key, &r, m)
		if !ok || !found {
			c.R.Null()
			continue
		}
		xy := geoDecodeScore(score)
		h, _ := geohashEncode(geoLongRange, geoStdLatRange, xy[0], xy[1], geoStepMax)
		var buf [11]byte
		for i := range buf {
			idx := 0
			// 52 bits make ten characters; the eleventh is always '0'.
			if i < 10 {
				idx = int(h.bits>>(52-(i+1)*5)) & 0x1f
			}
			buf[i] = alphabet[idx]
		}
		c.R.Bulk(buf[:])
	}
	return nil
}

func cmdGeoPos(c *Ctx, args [][]byte) error {
	key := args[1]
	r, ok, err := zsetGet(c, key)
	if err != nil {
		return err
	}
	c.R.Array(len(args) - 2)
	for _, m := range args[2:] {
		score, found := zsetScore(c, key, &r, m)
		if !ok || !found {
			c.R.NullArray()
			continue
		}
		xy := geoDecodeScore(score)
		c.R.Array(2)
		geoReplyCoord(c, xy[0])
		geoReplyCoord(c, xy[1])
	}
	return nil
}

// ---- Searches ----

// geoFlags is what a search command accepts, as georadiusGeneric's flags.
type geoFlags int

const (
	geoFromCoords  geoFlags = 1 << iota // GEORADIUS: center and radius first
	geoFromMember                       // GEORADIUSBYMEMBER
	geoNoStore                          // the _RO variants
	geoSearchCmd                        // GEOSEARCH's arguments
	geoSearchStore                      // GEOSEARCHSTORE
)

func cmdGeoRadius(c *Ctx, args [][]byte) error { return geoSearchGeneric(c, args, 1, geoFromCoords) }
func cmdGeoRadiusRO(c *Ctx, args [][]byte) error {
	return geoSearchGeneric(c, args, 1, geoFromCoords|geoNoStore)
}
func cmdGeoRadiusByMember(c *Ctx, args [][]byte) error {
	return geoSearchGeneric(c, args, 1, geoFromMember)
}
func cmdGeoRadiusByMemberRO(c *Ctx, args [][]byte) error {
	return geoSearchGeneric(c, args, 1, geoFromMember|geoNoStore)
}
func cmdGeoSearch(c *Ctx, args [][]byte) error { return geoSearchGeneric(c, args, 1, geoSearchCmd) }
func cmdGeoSearchStore(c *Ctx, args [][]byte) error {
	return geoSearchGeneric(c, args, 2, geoSearchCmd|geoSearchStore)
}

// geoPoint is a member found by a search.
type geoPoint struct {
	member string
	score  float64
	dist   float64 // meters, then the reply's unit
	xy     [2]float64
}

type geoSort int

const (
	geoSortNone geoSort = iota
	geoSortAsc
	geoSortDesc
)

// geoSearchGeneric is georadiusGeneric: the source key at args[src], and
// for GEOSEARCHSTORE the destination at args[1]. Errors come in Redis's
// order: the key's type, then the center and radius of GEORADIUS*, then
// the options one by one, then the conflicts between them.
func geoSearchGeneric(c *Ctx, args [][]byte, src int, flags geoFlags) error {
	key := args[src]
	r, exists, err := zsetGet(c, key)
	if err != nil {
		return err
	}
	var shape geoShape
	var storeKey []byte
	storeDist := false
	base := 0
	switch {
	case flags&geoFromCoords != 0:
		base = 6
		xy, err := geoParseLonLat(args[2], args[3])
		if err != nil {
			return err
		}
		shape.xy = xy
		if err := geoParseDistance(&shape, args[4], args[5]); err != nil {
			return err
		}
	case flags&geoFromMember != 0:
		// A missing key skips the member and radius, so that the options
		// still decide between the empty array and STORE's 0.
		base = 5
		if exists {
			xy, ok := geoMemberPos(c, key, &r, args[2])
			if !ok {
				return errGeoMember
			}
			shape.xy = xy
			if err := geoParseDistance(&shape, args[3], args[4]); err != nil {
				return err
			}
		}
	default:
		base = 2
		if flags&geoSearchStore != 0 {
			base = 3
			storeKey = args[1]
		}
	}

	var withDist, withHash, withCoord bool
	var fromMember, fromLonLat, byRadius, byBox, any bool
	sort := geoSortNone
	var count int64
	search := flags&geoSearchCmd != 0
	canStore := flags&geoNoStore == 0 && !search
	for i := base; i < len(args); i++ {
		a, left := args[i], len(args)-i-1
		switch {
		case geoOpt(a, "withdist"):
			withDist = true
		case geoOpt(a, "withhash"):
			withHash = true
		case geoOpt(a, "withcoord"):
			withCoord = true
		case geoOpt(a, "any"):
			any = true
		case geoOpt(a, "asc"):
			sort = geoSortAsc
		case geoOpt(a, "desc"):
			sort = geoSortDesc
		case geoOpt(a, "count") && left >= 1:
			n, ok := parseInt(args[i+1])
			if !ok {
				return ErrNotInt
			}
			if n <= 0 {
				return errGeoCount
			}
			count = n
			i++
		case (geoOpt(a, "store") || geoOpt(a, "storedist")) && left >= 1 && canStore:
			storeKey = args[i+1]
			storeDist = geoOpt(a, "storedist")
			i++
		case geoOpt(a, "storedist") && flags&geoSearchStore != 0:
			storeDist = true
		case geoOpt(a, "frommember") && left >= 1 && search && !fromLonLat:
			if exists {
				xy, ok := geoMemberPos(c, key, &r, args[i+1])
				if !ok {
					return errGeoMember
				}
				shape.xy = xy
			}
			fromMember = true
			i++
		case geoOpt(a, "fromlonlat") && left >= 2 && search && !fromMember:
			xy, err := geoParseLonLat(args[i+1], args[i+2])
			if err != nil {
				return err
			}
			shape.xy = xy
			fromLonLat = true
			i += 2
		case geoOpt(a, "byradius") && left >= 2 && search && !byBox:
			if err := geoParseDistance(&shape, args[i+1], args[i+2]); err != nil {
				return err
			}
			byRadius = true
			i += 2
		case geoOpt(a, "bybox") && left >= 3 && search && !byRadius:
			if err := geoParseBox(&shape, args[i+1], args[i+2], args[i+3]); err != nil {
				return err
			}
			byBox = true
			i += 3
		default:
			return ErrSyntax
		}
	}

	if storeKey != nil && (withDist || withHash || withCoord) {
		if flags&geoSearchStore != 0 {
			return Error("ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
		}
		return Error("ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
	}
	if search && !fromMember && !fromLonLat {
		return Error("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " + string(args[0]))
	}
	if search && !byRadius && !byBox {
		return Error("ERR exactly one of BYRADIUS and BYBOX can be specified for " + string(args[0]))
	}
	if any && count == 0 {
		return errGeoAny
	}

	if !exists {
		if storeKey != nil {
			if err := zsetStore(c, storeKey, nil); err != nil {
				return err
			}
			c.R.Int(0)
		} else {
			c.R.Array(0)
		}
		return nil
	}
	// COUNT keeps the nearest, so it sorts unless ANY takes the first
	// found.
	if count != 0 && sort == geoSortNone && !any {
		sort = geoSortAsc
	}
	limit := int64(0)
	if any {
		limit = count
	}
	pts, err := geoMembersOfAllNeighbors(c, key, &r, &shape, limit)
	if err != nil {
		return err
	}
	if len(pts) == 0 && storeKey == nil {
		c.R.Array(0)
		return nil
	}
	n := len(pts)
	if count != 0 && int64(n) > count {
		n = int(count)
	}
	if sort != geoSortNone {
		cmp := func(a, b *geoPoint) int { return geoCmpDist(a.dist, b.dist) }
		if sort == geoSortDesc {
			cmp = func(a, b *geoPoint) int { return geoCmpDist(b.dist, a.dist) }
		}
		if n == len(pts) {
			// glibc's qsort is a merge sort: stable.
			slices.SortStableFunc(pts, func(a, b geoPoint) int { return cmp(&a, &b) })
		} else {
			pqsort(pts, cmp, 0, n-1)
		}
	}
	pts = pts[:n]
	for i := range pts {
		pts[i].dist /= shape.conversion
	}

	if storeKey != nil {
		es := make([]zsetEntry, len(pts))
		for i, p := range pts {
			es[i] = zsetEntry{member: p.member, score: p.score}
			if storeDist {
				es[i].score = p.dist
			}
		}
		if err := zsetStore(c, storeKey, es); err != nil {
			return err
		}
		c.R.Int(int64(len(es)))
		return nil
	}
	opts := 0
	for _, on := range []bool{withDist, withHash, withCoord} {
		if on {
			opts++
		}
	}
	c.R.Array(len(pts))
	for _, p := range pts {
		if opts > 0 {
			c.R.Array(opts + 1)
		}
		c.R.BulkString(p.member)
		if withDist {
			geoReplyDistance(c, p.dist)
		}
		if withHash {
			c.R.Int(geoCvtt(p.score))
		}
		if withCoord {
			c.R.Array(2)
			geoReplyCoord(c, p.xy[0])
			geoReplyCoord(c, p.xy[1])
		}
	}
	return nil
}

// geoCmpDist is sort_gp_asc's comparison.
func geoCmpDist(a, b float64) int {
	switch {
	case a > b:
		return 1
	case a == b:
		return 0
	}
	return -1
}

// geoMembersOfAllNeighbors is membersOfAllNeighbors: the members within
// the shape in its box and the eight around, box by box in Redis's order
// (center, N, S, E, W, NE, NW, SE, SW), each box in score order. Like
// Redis, it skips a box equal to the one walked just before it (huge
// radii make neighbors coincide), and with a limit (ANY) stops once it
// has that many.
func geoMembersOfAllNeighbors(c *Ctx, key []byte, r *store.Record, shape *geoShape, limit int64) ([]geoPoint, error) {
	area := geohashAreasByShape(shape)
	nb := area.neighbors
	boxes := [9]geoHashBits{area.hash, nb.north, nb.south, nb.east, nb.west,
		nb.northEast, nb.northWest, nb.southEast, nb.southWest}
	var pts []geoPoint
	full := func() bool { return limit > 0 && int64(len(pts)) >= limit }
	last := 0
	for i, b := range boxes {
		if b.isZero() {
			continue
		}
		// As in Redis, "last" 0 means none, so a box equal to the
		// center is walked again.
		if last != 0 && b == boxes[last] {
			continue
		}
		if full() {
			break
		}
		lo := geoAlign52(b)
		b.bits++
		hi := geoAlign52(b)
		z := zScoreRange{min: float64(lo), max: float64(hi), maxex: true}
		err := zsetScoreWalk(c, key, r, z, false, func(sub string) bool {
			score := scoreFrom(sub)
			xy := geoDecodeScore(score)
			if d, ok := shape.contains(xy); ok {
				pts = append(pts, geoPoint{member: strings.Clone(sub[8:]), score: score, dist: d, xy: xy})
			}
			return !full()
		})
		if err != nil {
			return nil, err
		}
		last = i
	}
	return pts, nil
}

// pqsort is Redis's pqsort.c, the Bentley–McIlroy quicksort that only
// sorts the partitions overlapping ranks lrange..rrange: COUNT without
// ANY sorts with it when it keeps fewer than all found, and its order
// among equal distances is what Redis replies.
func pqsort(a []geoPoint, cmp func(a, b *geoPoint) int, lrange, rrange int) {
	pqsortRange(a, 0, len(a), cmp, lrange, rrange)
}

// pqsortRange sorts a[base:base+n]; lrange and rrange are indexes into a.
func pqsortRange(a []geoPoint, base, n int, cmp func(a, b *geoPoint) int, lrange, rrange int) {
	swap := func(i, j int) { a[i], a[j] = a[j], a[i] }
	vecswap := func(i, j, k int) {
		for ; k > 0; k-- {
			swap(i, j)
			i++
			j++
		}
	}
	c := func(i, j int) int { return cmp(&a[i], &a[j]) }
	med3 := func(x, y, z int) int {
		if c(x, y) < 0 {
			if c(y, z) < 0 {
				return y
			}
			if c(x, z) < 0 {
				return z
			}
			return x
		}
		if c(y, z) > 0 {
			return y
		}
		if c(x, z) < 0 {
			return x
		}
		return z
	}
	for {
		if n < 7 {
			for pm := base + 1; pm < base+n; pm++ {
				for pl := pm; pl > base && c(pl-1, pl) > 0; pl-- {
					swap(pl, pl-1)
				}
			}
			return
		}
		pm := base + n/2
		if n > 7 {
			pl, pn := base, base+n-1
			if n > 40 {
				d := n / 8
				pl = med3(pl, pl+d, pl+2*d)
				pm = med3(pm-d, pm, pm+d)
				pn = med3(pn-2*d, pn-d, pn)
			}
			pm = med3(pl, pm, pn)
		}
		swap(base, pm)
		pa, pb := base+1, base+1
		pc, pd := base+n-1, base+n-1
		for {
			for pb <= pc {
				r := c(pb, base)
				if r > 0 {
					break
				}
				if r == 0 {
					swap(pa, pb)
					pa++
				}
				pb++
			}
			for pb <= pc {
				r := c(pc, base)
				if r < 0 {
					break
				}
				if r == 0 {
					swap(pc, pd)
					pd--
				}
				pc--
			}
			if pb > pc {
				break
			}
			swap(pb, pc)
			pb++
			pc--
		}
		pn := base + n
		k := min(pa-base, pb-pa)
		vecswap(base, pb-k, k)
		k = min(pd-pc, pn-pd-1)
		vecswap(pb, pn-k, k)
		// Recurse into (or loop on) a side only if it overlaps the ranks
		// wanted.
		overlaps := func(s, m int) bool {
			return !((lrange < s && rrange < s) || (lrange >= s+m && rrange >= s+m))
		}
		if k = pb - pa; k > 1 && overlaps(base, k) {
			pqsortRange(a, base, k, cmp, lrange, rrange)
		}
		k = pd - pc
		if k <= 1 {
			return
		}
		base, n = pn-k, k
		if !overlaps(base, n) {
			return
		}
	}
}
