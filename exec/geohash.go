package exec

import "math"

// The geohash arithmetic of Redis 7.0 (geohash.c, geohash_helper.c),
// step for step: a GEO key's scores, its decoded positions and the boxes
// a search walks must come out bit for bit as Redis computes them, or
// ZSCORE, GEOPOS and the members a search finds would differ. Products
// are wrapped in float64() where C rounds them, so that no platform fuses
// them into an FMA that C on x86-64 does not use.

const (
	geoStepMax   = 26 // 52-bit scores
	geoLatMin    = -85.05112878
	geoLatMax    = 85.05112878
	geoLongMin   = -180.0
	geoLongMax   = 180.0
	earthRadiusM = 6372797.560856 // EARTH_RADIUS_IN_METERS
	mercatorMax  = 20037726.37
)

// geoPi is M_PI as a float64; C's D_R is M_PI / 180.0 in double
// arithmetic, which a Go constant expression would compute exactly.
var (
	geoPi      = math.Pi
	geoDegToRd = geoPi / 180.0
)

func degRad(ang float64) float64 { return ang * geoDegToRd }
func radDeg(ang float64) float64 { return ang / geoDegToRd }

// geoHashBits is a geohash of step*2 bits: latitude in the even bits,
// longitude in the odd ones. The zero value (bits 0, step 0) marks a
// neighbor box excluded from a search.
type geoHashBits struct {
	bits uint64
	step uint8
}

func (h geoHashBits) isZero() bool { return h.bits == 0 && h.step == 0 }

type geoRange struct{ min, max float64 }

// geoArea is the box a geohash covers.
type geoArea struct {
	hash     geoHashBits
	lon, lat geoRange
}

var (
	geoLongRange = geoRange{geoLongMin, geoLongMax}
	geoLatRange  = geoRange{geoLatMin, geoLatMax}
	// geoStdLatRange is the standard geohash's latitude range, which
	// GEOHASH re-encodes with.
	geoStdLatRange = geoRange{-90, 90}
)

// geoInterleave puts x's 32 bits in the even bit positions and y's in the
// odd ones.
func geoInterleave(xlo, ylo uint32) uint64 {
	b := [...]uint64{0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF}
	s := [...]uint{1, 2, 4, 8, 16}
	x, y := uint64(xlo), uint64(ylo)
	for i := 4; i >= 0; i-- {
		x = (x | x<<s[i]) & b[i]
		y = (y | y<<s[i]) & b[i]
	}
	return x | y<<1
}

// geoDeinterleave is geoInterleave's inverse: the even bits end up in
// the low 32 bits, the odd ones in the high 32.
func geoDeinterleave(v uint64) uint64 {
	b := [...]uint64{0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF, 0x00000000FFFFFFFF}
	s := [...]uint{0, 1, 2, 4, 8, 16}
	x, y := v, v>>1
	for i := 0; i < 6; i++ {
		x = (x | x>>s[i]) & b[i]
		y = (y | y>>s[i]) & b[i]
	}
	return x | y<<32
}

// geohashEncode is Redis's geohashEncode; ok is false outside the WGS84
// limits or the given ranges.
func geohashEncode(lonR, latR geoRange, lon, lat float64, step uint8) (geoHashBits, bool) {
	if step > 32 || step == 0 {
		return geoHashBits{}, false
	}
	if lon > geoLongMax || lon < geoLongMin || lat > geoLatMax || lat < geoLatMin {
		return geoHashBits{}, false
	}
	h := geoHashBits{step: step}
	if lat < latR.min || lat > latR.max || lon < lonR.min || lon > lonR.max {
		return h, false
	}
	latOff := (lat - latR.min) / (latR.max - latR.min)
	lonOff := (lon - lonR.min) / (lonR.max - lonR.min)
	scale := float64(uint64(1) << step)
	latOff *= scale
	lonOff *= scale
	h.bits = geoInterleave(uint32(latOff), uint32(lonOff))
	return h, true
}

func geohashEncodeWGS84(lon, lat float64, step uint8) (geoHashBits, bool) {
	return geohashEncode(geoLongRange, geoLatRange, lon, lat, step)
}

// geohashDecode is the box h covers. As in C, the cell index plus one is
// 32-bit arithmetic.
func geohashDecode(lonR, latR geoRange, h geoHashBits) (geoArea, bool) {
	if h.isZero() {
		return geoArea{}, false
	}
	sep := geoDeinterleave(h.bits)
	latScale := latR.max - latR.min
	lonScale := lonR.max - lonR.min
	ilat := uint32(sep)
	ilon := uint32(sep >> 32)
	div := float64(uint64(1) << h.step)
	a := geoArea{hash: h}
	a.lat.min = latR.min + float64(float64(ilat)/div*latScale)
	a.lat.max = latR.min + float64(float64(ilat+1)/div*latScale)
	a.lon.min = lonR.min + float64(float64(ilon)/div*lonScale)
	a.lon.max = lonR.min + float64(float64(ilon+1)/div*lonScale)
	return a, true
}

// geohashDecodeToLonLat is the center of h's box, clamped to the WGS84
// limits.
func geohashDecodeToLonLat(h geoHashBits) ([2]float64, bool) {
	a, ok := geohashDecode(geoLongRange, geoLatRange, h)
	if !ok {
		return [2]float64{}, false
	}
	xy := [2]float64{(a.lon.min + a.lon.max) / 2, (a.lat.min + a.lat.max) / 2}
	xy[0] = min(max(xy[0], geoLongMin), geoLongMax)
	xy[1] = min(max(xy[1], geoLatMin), geoLatMax)
	return xy, true
}

// geoScoreBits is C's (uint64_t) cast of a score as x86-64 code does it:
// any score can be a GEO member's, through ZADD, and Redis decodes what
// the cast yields (inf gives 0, -inf and negatives wrap).
func geoScoreBits(score float64) uint64 {
	const two63 = 9223372036854775808.0
	if score >= two63 {
		// Subtract 2^63, convert, set the top bit back; too large
		// converts to 1<<63, which the xor clears.
		return uint64(geoCvtt(score-two63)) ^ (1 << 63)
	}
	return uint64(geoCvtt(score))
}

// geoCvtt is x86-64's cvttsd2si: truncation, and 1<<63 for what int64
// cannot hold. It is C's (long long) cast of a score (WITHHASH).
func geoCvtt(f float64) int64 {
	if math.IsNaN(f) || f >= 9223372036854775808.0 || f < -9223372036854775808.0 {
		return math.MinInt64
	}
	return int64(f)
}

// geoDecodeScore is decodeGeohash: the position a zset score stands for.
func geoDecodeScore(score float64) [2]float64 {
	xy, _ := geohashDecodeToLonLat(geoHashBits{bits: geoScoreBits(score), step: geoStepMax})
	return xy
}

// geoAlign52 left-aligns h to the 52 bits of a score.
func geoAlign52(h geoHashBits) uint64 {
	return h.bits << (52 - uint(h.step)*2)
}

// The interleaved bits of each axis in a geohash: longitude on the odd
// bits, latitude on the even ones.
const (
	geoLonBits uint64 = 0xaaaaaaaaaaaaaaaa
	geoLatBits uint64 = 0x5555555555555555
)

// geoMove steps h by d boxes (-1, 0 or +1) along the axis whose bits are
// axis (geoLonBits or geoLatBits): Redis's geohash_move_x and
// geohash_move_y, which differ only in which mask is the axis.
func geoMove(h *geoHashBits, d int, axis uint64) {
	if d == 0 {
		return
	}
	a := h.bits & axis
	other := h.bits &^ axis
	zz := ^axis >> (64 - uint(h.step)*2)
	if d > 0 {
		a += zz + 1
	} else {
		a |= zz
		a -= zz + 1
	}
	a &= axis >> (64 - uint(h.step)*2)
	h.bits = a | other
}

// geoNeighbors are the eight boxes around one, wrapping around the
// edges of the map as Redis's bit arithmetic does.
type geoNeighbors struct {
	north, south, east, west                   geoHashBits
	northEast, southEast, northWest, southWest geoHashBits
}

func geohashNeighbors(h geoHashBits) geoNeighbors {
	move := func(dx, dy int) geoHashBits {
		n := h
		geoMove(&n, dx, geoLonBits)
		geoMove(&n, dy, geoLatBits)
		return n
	}
	return geoNeighbors{
		east: move(1, 0), west: move(-1, 0),
		south: move(0, -1), north: move(0, 1),
		northWest: move(-1, 1), southWest: move(-1, -1),
		northEast: move(1, 1), southEast: move(1, -1),
	}
}

// geohashEstimateStepsByRadius is the step whose boxes are about the
// search's size, smaller towards the poles.
func geohashEstimateStepsByRadius(rangeMeters, lat float64) uint8 {
	if rangeMeters == 0 {
		return 26
	}
	step := 1
	for rangeMeters < mercatorMax {
		rangeMeters *= 2
		step++
	}
	step -= 2
	if lat > 66 || lat < -66 {
		step--
		if lat > 80 || lat < -80 {
			step--
		}
	}
	return uint8(min(max(step, 1), 26))
}

// geoShape is a search area: a circle of radius, or a box of width ×
// height, around xy, in units of conversion meters.
type geoShape struct {
	circle        bool
	xy            [2]float64
	conversion    float64
	radius        float64
	width, height float64
	bounds        [4]float64 // min lon, min lat, max lon, max lat
}

// boundingBox is geohashBoundingBox.
func (s *geoShape) boundingBox() {
	lon, lat := s.xy[0], s.xy[1]
	var height, width float64
	if s.circle {
		height = s.conversion * s.radius
		width = s.conversion * s.radius
	} else {
		height = s.conversion * (s.height / 2)
		width = s.conversion * (s.width / 2)
	}
	latDelta := radDeg(height / earthRadiusM)
	top := radDeg(width / earthRadiusM / geoCos(degRad(lat+latDelta)))
	bottom := radDeg(width / earthRadiusM / geoCos(degRad(lat-latDelta)))
	if lat < 0 {
		s.bounds[0], s.bounds[2] = lon-bottom, lon+bottom
	} else {
		s.bounds[0], s.bounds[2] = lon-top, lon+top
	}
	s.bounds[1] = lat - latDelta
	s.bounds[3] = lat + latDelta
}

// geoSearchArea is the box around a search's center and its neighbors
// that together cover the shape.
type geoSearchArea struct {
	hash      geoHashBits
	neighbors geoNeighbors
}

// geohashAreasByShape is geohashCalculateAreasByShapeWGS84; it sets
// s.bounds.
func geohashAreasByShape(s *geoShape) geoSearchArea {
	s.boundingBox()
	minLon, minLat, maxLon, maxLat := s.bounds[0], s.bounds[1], s.bounds[2], s.bounds[3]
	lon, lat := s.xy[0], s.xy[1]
	var radiusM float64
	if s.circle {
		radiusM = s.radius
	} else {
		w, h := s.width/2, s.height/2
		radiusM = math.Sqrt(float64(w*w) + float64(h*h))
	}
	radiusM *= s.conversion
	steps := geohashEstimateStepsByRadius(radiusM, lat)

	hash, _ := geohashEncode(geoLongRange, geoLatRange, lon, lat, steps)
	nb := geohashNeighbors(hash)
	area, _ := geohashDecode(geoLongRange, geoLatRange, hash)

	north, _ := geohashDecode(geoLongRange, geoLatRange, nb.north)
	south, _ := geohashDecode(geoLongRange, geoLatRange, nb.south)
	east, _ := geohashDecode(geoLongRange, geoLatRange, nb.east)
	west, _ := geohashDecode(geoLongRange, geoLatRange, nb.west)
	decrease := north.lat.max < maxLat || south.lat.min > minLat ||
		east.lon.max < maxLon || west.lon.min > minLon
	if steps > 1 && decrease {
		steps--
		hash, _ = geohashEncode(geoLongRange, geoLatRange, lon, lat, steps)
		nb = geohashNeighbors(hash)
		area, _ = geohashDecode(geoLongRange, geoLatRange, hash)
	}

	// Drop the neighbors the shape cannot reach.
	if steps >= 2 {
		if area.lat.min < minLat {
			nb.south, nb.southWest, nb.southEast = geoHashBits{}, geoHashBits{}, geoHashBits{}
		}
		if area.lat.max > maxLat {
			nb.north, nb.northEast, nb.northWest = geoHashBits{}, geoHashBits{}, geoHashBits{}
		}
		if area.lon.min < minLon {
			nb.west, nb.southWest, nb.northWest = geoHashBits{}, geoHashBits{}, geoHashBits{}
		}
		if area.lon.max > maxLon {
			nb.east, nb.southEast, nb.northEast = geoHashBits{}, geoHashBits{}, geoHashBits{}
		}
	}
	return geoSearchArea{hash: hash, neighbors: nb}
}

// geoDistance is Redis 7.0's haversine distance in meters.
func geoDistance(lon1d, lat1d, lon2d, lat2d float64) float64 {
	lat1r, lon1r := degRad(lat1d), degRad(lon1d)
	lat2r, lon2r := degRad(lat2d), degRad(lon2d)
	u := geoSin((lat2r - lat1r) / 2)
	v := geoSin((lon2r - lon1r) / 2)
	a := float64(u*u) + float64(float64(float64(geoCos(lat1r)*geoCos(lat2r))*v)*v)
	return 2.0 * earthRadiusM * geoAsin(math.Sqrt(a))
}

// contains reports whether a point is in the shape, and its distance in
// meters from the center (Redis's geoWithinShape after decoding).
func (s *geoShape) contains(xy [2]float64) (float64, bool) {
	if s.circle {
		d := geoDistance(s.xy[0], s.xy[1], xy[0], xy[1])
		return d, d <= s.radius*s.conversion
	}
	w, h := s.width*s.conversion, s.height*s.conversion
	lonDist := geoDistance(xy[0], xy[1], s.xy[0], xy[1])
	latDist := geoDistance(xy[0], xy[1], xy[0], s.xy[1])
	if lonDist > w/2 || latDist > h/2 {
		return 0, false
	}
	return geoDistance(s.xy[0], s.xy[1], xy[0], xy[1]), true
}

// ---- sin, cos and asin as glibc rounds them ----

// glibc's sin, cos and asin return the correctly rounded result in all
// but rare cases, while Go's are off by an ulp or more often enough to
// change a STOREDIST score or a WITHDIST digit. These evaluate the
// functions in double-double arithmetic (about 106 bits) and round once,
// so they agree with glibc wherever glibc is correctly rounded.

// geoDD is an unevaluated sum hi+lo with |lo| <= ulp(hi)/2.
type geoDD struct{ hi, lo float64 }

func geoTwoSum(a, b float64) geoDD {
	s := a + b
	bb := s - a
	return geoDD{s, (a - (s - bb)) + (b - bb)}
}

func geoFastTwoSum(a, b float64) geoDD {
	s := a + b
	return geoDD{s, b - (s - a)}
}

func (a geoDD) add(b geoDD) geoDD {
	s := geoTwoSum(a.hi, b.hi)
	return geoFastTwoSum(s.hi, s.lo+a.lo+b.lo)
}

func (a geoDD) mul(b geoDD) geoDD {
	p := a.hi * b.hi
	e := math.FMA(a.hi, b.hi, -p)
	return geoFastTwoSum(p, e+float64(a.hi*b.lo)+float64(a.lo*b.hi))
}

// quo divides by a small integer d.
func (a geoDD) quo(d float64) geoDD {
	q1 := a.hi / d
	p := q1 * d
	pe := math.FMA(q1, d, -p)
	r := (a.hi - p) - pe + a.lo
	return geoFastTwoSum(q1, r/d)
}

func (a geoDD) neg() geoDD { return geoDD{-a.hi, -a.lo} }

func (a geoDD) float() float64 { return a.hi + a.lo }

// geoSeriesMax bounds the arguments the series serve; beyond it (only a
// bounding box of a radius wider than the Earth gets there) Go's math
// decides.
const geoSeriesMax = 8

// geoSinCosDD is sin(x) (or cos(x)) by its Taylor series in
// double-double, for |x| <= geoSeriesMax.
func geoSinCosDD(x geoDD, cos bool) geoDD {
	x2 := x.mul(x)
	term, k := x, 1.0
	if cos {
		term, k = geoDD{1, 0}, 0
	}
	sum := term
	for i := 0; i < 80; i++ {
		term = term.mul(x2).quo((k + 1) * (k + 2)).neg()
		k += 2
		sum = sum.add(term)
		if math.Abs(term.hi) < 1e-33*math.Abs(sum.hi) || term.hi == 0 {
			break
		}
	}
	return sum
}

func geoSin(x float64) float64 {
	if math.IsNaN(x) || math.Abs(x) > geoSeriesMax {
		return math.Sin(x)
	}
	if x == 0 {
		return x
	}
	return geoSinCosDD(geoDD{x, 0}, false).float()
}

func geoCos(x float64) float64 {
	if math.IsNaN(x) || math.Abs(x) > geoSeriesMax {
		return math.Cos(x)
	}
	return geoSinCosDD(geoDD{x, 0}, true).float()
}

// geoAsin refines a first guess by Newton's method on sin(y) = x, with
// sin and cos in double-double.
func geoAsin(x float64) float64 {
	if !(math.Abs(x) < 1) || x == 0 {
		return math.Asin(x)
	}
	ax := math.Abs(x)
	y := math.Asin(ax)
	if ax > 0.5 {
		// Go's guess loses digits near 1; this identity does not.
		y = math.Pi/2 - 2*math.Asin(math.Sqrt((1-ax)/2))
	}
	// The guess is within a few ulps, so one step leaves an error near
	// the square of that.
	yy := geoDD{y, 0}
	s := geoSinCosDD(yy, false)
	c := geoSinCosDD(yy, true)
	f := s.add(geoDD{-ax, 0})
	r := yy.add(geoDD{-f.float() / c.float(), 0}).float()
	if x < 0 {
		return -r
	}
	return r
}
