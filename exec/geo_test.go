package exec

import (
	"fmt"
	"math"
	"testing"
)

// geoCase is one command and the raw RESP3 reply redis-server 7.0.15 gave
// it (a null array, "_" in Redis's RESP3, written as the *-1 that
// NullArray writes).
type geoCase struct {
	want string
	args []string
}

// geoGrid fills key g with 225 points 0.05° apart around Paris, past the
// listpack limit, as the recorded "Grid" replies were made.
func geoGrid(s *testStore) {
	for i := 0; i < 15; i++ {
		for j := 0; j < 15; j++ {
			s.expect(":1\r\n", "GEOADD", "g", fmt.Sprintf("%.4f", 2.0+float64(i)*0.05),
				fmt.Sprintf("%.4f", 48.5+float64(j)*0.05), fmt.Sprintf("p%d_%d", i, j))
		}
	}
}

// TestGeoRecorded replays sequences recorded from redis-server 7.0.15:
// each starts from an empty store and runs in order, writes included.
func TestGeoRecorded(t *testing.T) {
	for name, cases := range geoRecorded {
		t.Run(name, func(t *testing.T) {
			s := newTestStore(t)
			if name == "Grid" {
				geoGrid(s)
			}
			for _, c := range cases {
				s.expect(c.want, c.args...)
			}
		})
	}
}

// TestGeoTrig checks the double-double sin, cos and asin against values
// glibc 2.36 returns (through Python's math) at arguments where Go's math
// package returns a neighboring double instead.
func TestGeoTrig(t *testing.T) {
	fns := map[string]func(float64) float64{"sin": geoSin, "cos": geoCos, "asin": geoAsin}
	for _, c := range []struct {
		fn      string
		x, want float64
	}{
		{"sin", -1.1911172489738902, -0.928783624357674},
		{"sin", -0.8741502148385734, -0.7669985155480697},
		{"sin", -1.9540681001173887, -0.9274460996038487},
		{"sin", -0.9574527332042351, -0.8177280037749215},
		{"cos", -0.589462061291379, 0.8312398469879261},
		{"cos", 0.6549412292509098, 0.7930837274770904},
		{"cos", -0.46466174381468095, 0.8939731962557542},
		{"cos", 0.881929647036785, 0.6356627048999713},
		{"asin", 7.229429903004891e-06, 7.2294299030678655e-06},
		{"asin", 4.188272384269869e-06, 4.188272384282114e-06},
		{"asin", 0.9999308812677881, 1.559038816134914},
		{"asin", 0.9116828462851316, 1.1473611983927805},
		{"asin", 1, math.Pi / 2},
		{"sin", 0, 0},
		{"cos", 0, 1},
	} {
		if got := fns[c.fn](c.x); got != c.want {
			t.Errorf("%s(%v) = %v, want %v", c.fn, c.x, got, c.want)
		}
	}
}

// geoRecorded holds the recorded sequences, by name.
var geoRecorded = map[string][]geoCase{
	"Basics": {
		{":2\r\n", []string{"GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"}},
		{",3479099956230698\r\n", []string{"ZSCORE", "Sicily", "Palermo"}},
		{",3479447370796909\r\n", []string{"ZSCORE", "Sicily", "Catania"}},
		{"*3\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n*-1\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n", []string{"GEOPOS", "Sicily", "Palermo", "NonExisting", "Catania"}},
		{"*2\r\n*-1\r\n*-1\r\n", []string{"GEOPOS", "nokey", "a", "b"}},
		{"$11\r\n166274.1516\r\n", []string{"GEODIST", "Sicily", "Palermo", "Catania"}},
		{"$8\r\n166.2742\r\n", []string{"GEODIST", "Sicily", "Palermo", "Catania", "km"}},
		{"$8\r\n103.3182\r\n", []string{"GEODIST", "Sicily", "Palermo", "Catania", "MI"}},
		{"$11\r\n545518.8700\r\n", []string{"GEODIST", "Sicily", "Palermo", "Catania", "ft"}},
		{"$6\r\n0.0000\r\n", []string{"GEODIST", "Sicily", "Palermo", "Palermo"}},
		{"_\r\n", []string{"GEODIST", "Sicily", "Palermo", "nope"}},
		{"_\r\n", []string{"GEODIST", "nokey", "a", "b"}},
		{"*3\r\n$11\r\nsqc8b49rny0\r\n$11\r\nsqdtr74hyu0\r\n_\r\n", []string{"GEOHASH", "Sicily", "Palermo", "Catania", "missing"}},
		{"*1\r\n_\r\n", []string{"GEOHASH", "nokey", "a"}},
		{":0\r\n", []string{"GEOADD", "Sicily", "13.361389", "38.115556", "Palermo"}},
		{":1\r\n", []string{"GEOADD", "Sicily", "CH", "13.361389", "38.115556", "Palermo", "13.5", "38", "Palermo"}},
		{":1\r\n", []string{"GEOADD", "Sicily", "NX", "15", "37", "Catania", "12.5", "37.8", "Marsala"}},
		{":0\r\n", []string{"GEOADD", "Sicily", "XX", "CH", "15.087269", "37.502669", "Catania", "14", "37", "nothere"}},
		{"-ERR syntax error\r\n", []string{"GEOADD", "Sicily", "xx", "nx", "1", "1", "a"}},
		{"-ERR syntax error\r\n", []string{"GEOADD", "Sicily", "nx", "ch", "xx"}},
		{"-ERR syntax error\r\n", []string{"GEOADD", "Sicily", "nx", "1", "1"}},
		{"*3\r\n*2\r\n$7\r\nMarsala\r\n,3478922452344708\r\n*2\r\n$7\r\nPalermo\r\n,3479097324432493\r\n*2\r\n$7\r\nCatania\r\n,3479447370796909\r\n", []string{"ZRANGE", "Sicily", "0", "-1", "WITHSCORES"}},
		{"*2\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n172.8860\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n", []string{"GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST"}},
		{"*2\r\n*2\r\n$7\r\nPalermo\r\n*2\r\n,13.50000053644180298\r\n,38.0000009925631943\r\n*2\r\n$7\r\nCatania\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n", []string{"GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHCOORD"}},
		{"*2\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n172.8860\r\n:3479097324432493\r\n*2\r\n,13.50000053644180298\r\n,38.0000009925631943\r\n", []string{"GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH", "ASC"}},
		{"*2\r\n$7\r\nPalermo\r\n$7\r\nCatania\r\n", []string{"GEORADIUS", "Sicily", "15", "37", "200", "km", "DESC"}},
		{"*1\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n", []string{"GEORADIUS_RO", "Sicily", "15", "37", "100", "km", "WITHDIST"}},
		{"*3\r\n*2\r\n$7\r\nMarsala\r\n$7\r\n90.5419\r\n*2\r\n$7\r\nPalermo\r\n$6\r\n0.0000\r\n*2\r\n$7\r\nCatania\r\n$8\r\n150.1486\r\n", []string{"GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "WITHDIST"}},
		{"*2\r\n*2\r\n$7\r\nPalermo\r\n$7\r\n93.2982\r\n*2\r\n$7\r\nCatania\r\n$6\r\n0.0000\r\n", []string{"GEORADIUSBYMEMBER_RO", "Sicily", "Catania", "100", "mi", "WITHDIST", "DESC"}},
		{"*2\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n172.8860\r\n:3479097324432493\r\n*2\r\n,13.50000053644180298\r\n,38.0000009925631943\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC", "WITHCOORD", "WITHDIST", "WITHHASH"}},
		{"*3\r\n*2\r\n$7\r\nPalermo\r\n$6\r\n0.0000\r\n*2\r\n$7\r\nMarsala\r\n$7\r\n90.5419\r\n*2\r\n$7\r\nCatania\r\n$8\r\n150.1486\r\n", []string{"GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "400", "400", "km", "ASC", "WITHDIST"}},
		{"*2\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n172.8860\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "DESC", "WITHDIST"}},
		{"*1\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "100", "200", "km", "WITHDIST"}},
		{"*1\r\n$7\r\nCatania\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "COUNT", "1"}},
		{"*2\r\n$7\r\nPalermo\r\n$7\r\nCatania\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "COUNT", "2", "DESC"}},
		{"*1\r\n$7\r\nPalermo\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "COUNT", "1", "ANY"}},
		{"*0\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "2", "km"}},
		{"*1\r\n$7\r\nPalermo\r\n", []string{"GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "0", "km"}},
		{"*1\r\n*2\r\n$7\r\nPalermo\r\n$6\r\n0.0000\r\n", []string{"GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "0", "0", "km", "WITHDIST"}},
		{"*1\r\n$7\r\nCatania\r\n", []string{"GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "FROMMEMBER", "Catania", "BYRADIUS", "1", "km"}},
		{"*3\r\n$7\r\nMarsala\r\n$7\r\nPalermo\r\n$7\r\nCatania\r\n", []string{"GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "BYRADIUS", "200", "km"}},
		{"*3\r\n*2\r\n$7\r\nMarsala\r\n$9\r\n4395.4360\r\n*2\r\n$7\r\nPalermo\r\n$9\r\n4447.1333\r\n*2\r\n$7\r\nCatania\r\n$9\r\n4449.6961\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "100000", "km", "WITHDIST"}},
		{"*3\r\n*2\r\n$7\r\nMarsala\r\n$9\r\n4395.4360\r\n*2\r\n$7\r\nPalermo\r\n$9\r\n4447.1333\r\n*2\r\n$7\r\nCatania\r\n$9\r\n4449.6961\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "1e300", "km", "WITHDIST"}},
		{"*3\r\n*2\r\n$7\r\nMarsala\r\n$12\r\n4395436.0491\r\n*2\r\n$7\r\nPalermo\r\n$12\r\n4447133.2506\r\n*2\r\n$7\r\nCatania\r\n$12\r\n4449696.1236\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "inf", "m", "WITHDIST"}},
		{"*2\r\n$7\r\nMarsala\r\n$7\r\nPalermo\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "100000", "km", "count", "1", "count", "2"}},
		{"*0\r\n", []string{"GEOSEARCH", "nokey", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"}},
		{"*0\r\n", []string{"GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km"}},
		{"*0\r\n", []string{"GEORADIUSBYMEMBER", "nokey", "x", "1", "kmx"}},
	},
	"Errors": {
		{":2\r\n", []string{"GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"}},
		{"+OK\r\n", []string{"SET", "str", "x"}},
		{"-ERR invalid longitude,latitude pair 181.000000,0.000000\r\n", []string{"GEOADD", "Sicily", "181", "0", "x"}},
		{"-ERR invalid longitude,latitude pair 0.000000,86.000000\r\n", []string{"GEOADD", "Sicily", "0", "86", "x"}},
		{"-ERR invalid longitude,latitude pair -180.500000,-85.060000\r\n", []string{"GEOADD", "Sicily", "-180.5", "-85.06", "x"}},
		{"-ERR invalid longitude,latitude pair inf,0.000000\r\n", []string{"GEOADD", "Sicily", "inf", "0", "x"}},
		{"-ERR invalid longitude,latitude pair 1.000000,-inf\r\n", []string{"GEOADD", "Sicily", "1", "-inf", "x"}},
		{"-ERR value is not a valid float\r\n", []string{"GEOADD", "Sicily", "abc", "0", "x"}},
		{"-ERR value is not a valid float\r\n", []string{"GEOADD", "Sicily", "0", "nan", "x"}},
		{"-ERR value is not a valid float\r\n", []string{"GEOADD", "Sicily", " 1", "0", "x"}},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", []string{"GEOADD", "str", "0", "0", "a"}},
		{"-ERR value is not a valid float\r\n", []string{"GEOADD", "str", "abc", "0", "a"}},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", []string{"GEOPOS", "str", "a"}},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", []string{"GEOHASH", "str", "a"}},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", []string{"GEODIST", "str", "a", "b"}},
		{"-ERR syntax error\r\n", []string{"GEODIST", "str", "a", "b", "km", "x"}},
		{"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n", []string{"GEODIST", "Sicily", "Palermo", "Catania", "kmx"}},
		{"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n", []string{"GEODIST", "nokey", "Palermo", "Catania", "kmx"}},
		{"-ERR syntax error\r\n", []string{"GEODIST", "Sicily", "Palermo", "Catania", "km", "x"}},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", []string{"GEOSEARCH", "str", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"}},
		{"-ERR wrong number of arguments for 'geosearch' command\r\n", []string{"GEOSEARCH", "str", "FROMLONLAT", "0", "0"}},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", []string{"GEOSEARCHSTORE", "d", "str", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"}},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", []string{"GEORADIUS", "str", "0", "0", "1", "km"}},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", []string{"GEORADIUSBYMEMBER", "str", "a", "1", "km"}},
		{"-ERR invalid longitude,latitude pair 181.000000,0.000000\r\n", []string{"GEORADIUS", "Sicily", "181", "0", "1", "km"}},
		{"-ERR value is not a valid float\r\n", []string{"GEORADIUS", "Sicily", "x", "0", "1", "km"}},
		{"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n", []string{"GEORADIUS", "Sicily", "15", "37", "200", "kmx"}},
		{"-ERR radius cannot be negative\r\n", []string{"GEORADIUS", "Sicily", "15", "37", "-1", "km"}},
		{"-ERR need numeric radius\r\n", []string{"GEORADIUS", "Sicily", "15", "37", "x", "km"}},
		{"-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n", []string{"GEORADIUS", "Sicily", "15", "37", "200", "km", "withdist", "store", "x"}},
		{"-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n", []string{"GEORADIUS", "Sicily", "15", "37", "200", "km", "storedist", "x", "withhash"}},
		{"-ERR syntax error\r\n", []string{"GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "store", "x"}},
		{"-ERR syntax error\r\n", []string{"GEORADIUS", "Sicily", "15", "37", "200", "km", "count", "1", "store"}},
		{"-ERR syntax error\r\n", []string{"GEORADIUS", "Sicily", "15", "37", "200", "km", "frommember", "Palermo"}},
		{"-ERR syntax error\r\n", []string{"GEORADIUS", "Sicily", "15", "37", "200", "km", "bogus"}},
		{"-ERR could not decode requested zset member\r\n", []string{"GEORADIUSBYMEMBER", "Sicily", "nope", "100", "km"}},
		{"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n", []string{"GEORADIUSBYMEMBER", "Sicily", "Palermo", "100", "yd"}},
		{"-ERR syntax error\r\n", []string{"GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "100", "km", "storedist", "x"}},
		{"-ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "count", "1"}},
		{"-ERR exactly one of BYRADIUS and BYBOX can be specified for geosearch\r\n", []string{"geosearch", "Sicily", "FROMLONLAT", "15", "37", "count", "1"}},
		{"-ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for geoSearch\r\n", []string{"geoSearch", "Sicily", "BYRADIUS", "1", "km", "count", "1"}},
		{"-ERR wrong number of arguments for 'geosearchstore' command\r\n", []string{"GEOSEARCHSTORE", "d", "Sicily", "BYRADIUS", "1", "km"}},
		{"-ERR the ANY argument requires COUNT argument\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "any"}},
		{"-ERR COUNT must be > 0\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "count", "0"}},
		{"-ERR COUNT must be > 0\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "count", "-3"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "count", "x"}},
		{"-ERR syntax error\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "count"}},
		{"-ERR syntax error\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200"}},
		{"-ERR value is not a valid float\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "BYRADIUS", "200", "km"}},
		{"-ERR need numeric width\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "x", "1", "km"}},
		{"-ERR need numeric height\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1", "x", "km"}},
		{"-ERR height or width cannot be negative\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "-1", "1", "km"}},
		{"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1", "1", "parsec"}},
		{"-ERR invalid longitude,latitude pair 181.000000,0.000000\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "181", "0", "BYBOX", "0", "0", "km"}},
		{"-ERR could not decode requested zset member\r\n", []string{"GEOSEARCH", "Sicily", "FROMMEMBER", "nope", "BYRADIUS", "1", "km"}},
		{"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n", []string{"GEOSEARCH", "nokey", "FROMMEMBER", "nope", "BYRADIUS", "1", "kmx"}},
		{"-ERR need numeric radius\r\n", []string{"GEOSEARCH", "nokey", "FROMMEMBER", "nope", "BYRADIUS", "x", "km"}},
		{"-ERR syntax error\r\n", []string{"GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"}},
		{"-ERR syntax error\r\n", []string{"GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km"}},
		{"-ERR syntax error\r\n", []string{"GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km"}},
		{"-ERR syntax error\r\n", []string{"GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "store", "x"}},
		{"-ERR syntax error\r\n", []string{"GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "storedist"}},
		{"-ERR syntax error\r\n", []string{"GEOSEARCHSTORE", "d", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "store", "x"}},
		{"-ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n", []string{"GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "withdist"}},
		{"-ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n", []string{"GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "withcoord", "storedist"}},
	},
	"Edges": {
		{":5\r\n", []string{"GEOADD", "w", "180", "85.05112878", "ne", "-180", "-85.05112878", "sw", "180", "-85.05112878", "se", "-180", "85.05112878", "nw", "0", "0", "origin"}},
		{":6\r\n", []string{"GEOADD", "w", "179.9999", "0.5", "east", "-179.9999", "0.5", "west", "0", "85", "north", "0", "-85", "south", "45", "84.9", "n2", "-45", "-84.9", "s2"}},
		{":2\r\n", []string{"GEOADD", "w", "-0.0", "-0.0", "negzero", "1e-300", "1e-300", "tiny"}},
		{"*13\r\n*2\r\n$2\r\nsw\r\n,0\r\n*2\r\n$2\r\ns2\r\n,703688855278613\r\n*2\r\n$4\r\nwest\r\n,1125921381958232\r\n*2\r\n$5\r\nsouth\r\n,2251800087646277\r\n*2\r\n$7\r\nnegzero\r\n,3377699720527872\r\n*2\r\n$6\r\norigin\r\n,3377699720527872\r\n*2\r\n$4\r\ntiny\r\n,3377699720527872\r\n*2\r\n$5\r\nnorth\r\n,3752999415514384\r\n*2\r\n$2\r\nn2\r\n,3893735764328768\r\n*2\r\n$4\r\neast\r\n,4128321133537522\r\n*2\r\n$2\r\nnw\r\n,4503599627370496\r\n*2\r\n$2\r\nse\r\n,9007199254740992\r\n*2\r\n$2\r\nne\r\n,13510798882111488\r\n", []string{"ZRANGE", "w", "0", "-1", "WITHSCORES"}},
		{"*11\r\n*2\r\n,180\r\n,85.0511287799999991\r\n*2\r\n,-179.99999731779098511\r\n,-85.05112751263942528\r\n*2\r\n,180\r\n,-85.05112751263942528\r\n*2\r\n,-179.99999731779098511\r\n,85.0511287799999991\r\n*2\r\n,0.00000268220901489\r\n,0.00000126736058093\r\n*2\r\n,179.99990075826644897\r\n,0.50000036325177888\r\n*2\r\n,-179.99990075826644897\r\n,0.50000036325177888\r\n*2\r\n,0.00000268220901489\r\n,84.99999965213439168\r\n*2\r\n,0.00000268220901489\r\n,-84.99999965213439168\r\n*2\r\n,0.00000268220901489\r\n,0.00000126736058093\r\n*2\r\n,0.00000268220901489\r\n,0.00000126736058093\r\n", []string{"GEOPOS", "w", "ne", "sw", "se", "nw", "origin", "east", "west", "north", "south", "negzero", "tiny"}},
		{"*11\r\n$11\r\nbp05b5048p0\r\n$11\r\n00bh0hbj200\r\n$11\r\n00bh0hbj200\r\n$11\r\nbp05b5048p0\r\n$11\r\ns0000000000\r\n$11\r\nxbpfzgpbtw0\r\n$11\r\n8004b500dq0\r\n$11\r\nup0581b0bh0\r\n$11\r\nh0bh2n0p050\r\n$11\r\ns0000000000\r\n$11\r\ns0000000000\r\n", []string{"GEOHASH", "w", "ne", "sw", "se", "nw", "origin", "east", "west", "north", "south", "negzero", "tiny"}},
		{"$6\r\n0.0221\r\n", []string{"GEODIST", "w", "east", "west", "km"}},
		{"$10\r\n18908.4709\r\n", []string{"GEODIST", "w", "north", "south", "km"}},
		{"$13\r\n18919844.5891\r\n", []string{"GEODIST", "w", "ne", "sw"}},
		{"$11\r\n429548.9564\r\n", []string{"GEODIST", "w", "n2", "north", "m"}},
		{"*2\r\n*2\r\n$4\r\neast\r\n$6\r\n0.0000\r\n*2\r\n$4\r\nwest\r\n$6\r\n0.0221\r\n", []string{"GEOSEARCH", "w", "FROMMEMBER", "east", "BYRADIUS", "50", "km", "WITHDIST"}},
		{"*2\r\n*2\r\n$4\r\nwest\r\n$6\r\n0.0000\r\n*2\r\n$4\r\neast\r\n$6\r\n0.0221\r\n", []string{"GEOSEARCH", "w", "FROMMEMBER", "west", "BYRADIUS", "50", "km", "WITHDIST"}},
		{"*1\r\n*2\r\n$4\r\neast\r\n$6\r\n0.0110\r\n", []string{"GEOSEARCH", "w", "FROMLONLAT", "180", "0.5", "BYRADIUS", "100", "km", "WITHDIST"}},
		{"*2\r\n*2\r\n$4\r\nwest\r\n$6\r\n0.0110\r\n*2\r\n$4\r\neast\r\n$6\r\n0.0110\r\n", []string{"GEOSEARCH", "w", "FROMLONLAT", "-180", "0.5", "BYBOX", "200", "200", "km", "WITHDIST"}},
		{"*2\r\n*3\r\n$5\r\nnorth\r\n$6\r\n0.0000\r\n*2\r\n,0.00000268220901489\r\n,84.99999965213439168\r\n*3\r\n$2\r\nn2\r\n$8\r\n429.5490\r\n*2\r\n,45.00000268220901489\r\n,84.89999983295615493\r\n", []string{"GEOSEARCH", "w", "FROMMEMBER", "north", "BYRADIUS", "1000", "km", "WITHDIST", "WITHCOORD"}},
		{"*2\r\n*2\r\n$2\r\nn2\r\n$8\r\n518.2871\r\n*2\r\n$5\r\nnorth\r\n$8\r\n851.5953\r\n", []string{"GEOSEARCH", "w", "FROMLONLAT", "100", "85", "BYRADIUS", "2000", "km", "WITHDIST", "ASC"}},
		{"*3\r\n*2\r\n$2\r\nsw\r\n$8\r\n710.7820\r\n*2\r\n$5\r\nsouth\r\n$8\r\n851.5953\r\n*2\r\n$2\r\ns2\r\n$9\r\n1071.2714\r\n", []string{"GEOSEARCH", "w", "FROMLONLAT", "100", "-85", "BYRADIUS", "2000", "km", "WITHDIST", "ASC"}},
		{"*2\r\n*2\r\n$5\r\nnorth\r\n$6\r\n5.6869\r\n*2\r\n$2\r\nn2\r\n$8\r\n427.5392\r\n", []string{"GEOSEARCH", "w", "FROMLONLAT", "0", "85.05112878", "BYRADIUS", "500", "km", "WITHDIST", "ASC"}},
		{"*1\r\n*3\r\n$2\r\nne\r\n$6\r\n0.0000\r\n:13510798882111488\r\n", []string{"GEOSEARCH", "w", "FROMMEMBER", "ne", "BYRADIUS", "0", "m", "WITHDIST", "WITHHASH"}},
		{"*3\r\n*2\r\n$7\r\nnegzero\r\n$6\r\n0.0000\r\n*2\r\n$6\r\norigin\r\n$6\r\n0.0000\r\n*2\r\n$4\r\ntiny\r\n$6\r\n0.0000\r\n", []string{"GEOSEARCH", "w", "FROMMEMBER", "origin", "BYRADIUS", "0", "m", "WITHDIST"}},
		{"*0\r\n", []string{"GEOSEARCH", "w", "FROMLONLAT", "0", "0", "BYRADIUS", "0", "m"}},
		{"*0\r\n", []string{"GEOSEARCH", "w", "FROMLONLAT", "0", "0", "BYBOX", "0", "0", "m", "WITHDIST"}},
		{"*10\r\n*2\r\n$7\r\nnegzero\r\n$6\r\n0.0003\r\n*2\r\n$6\r\norigin\r\n$6\r\n0.0003\r\n*2\r\n$4\r\ntiny\r\n$6\r\n0.0003\r\n*2\r\n$5\r\nnorth\r\n$9\r\n9454.2355\r\n*2\r\n$5\r\nsouth\r\n$9\r\n9454.2355\r\n*2\r\n$2\r\ns2\r\n$9\r\n9609.5229\r\n*2\r\n$2\r\nn2\r\n$9\r\n9609.5230\r\n*2\r\n$2\r\nsw\r\n$10\r\n10560.8118\r\n*2\r\n$4\r\neast\r\n$10\r\n19965.1208\r\n*2\r\n$4\r\nwest\r\n$10\r\n19965.1208\r\n", []string{"GEOSEARCH", "w", "FROMLONLAT", "0", "0", "BYRADIUS", "20000", "km", "WITHDIST", "ASC"}},
		{"*10\r\n*2\r\n$7\r\nnegzero\r\n$6\r\n0.0003\r\n*2\r\n$6\r\norigin\r\n$6\r\n0.0003\r\n*2\r\n$4\r\ntiny\r\n$6\r\n0.0003\r\n*2\r\n$5\r\nnorth\r\n$9\r\n9454.2355\r\n*2\r\n$5\r\nsouth\r\n$9\r\n9454.2355\r\n*2\r\n$2\r\ns2\r\n$9\r\n9609.5229\r\n*2\r\n$2\r\nn2\r\n$9\r\n9609.5230\r\n*2\r\n$2\r\nsw\r\n$10\r\n10560.8118\r\n*2\r\n$4\r\neast\r\n$10\r\n19965.1208\r\n*2\r\n$4\r\nwest\r\n$10\r\n19965.1208\r\n", []string{"GEOSEARCH", "w", "FROMLONLAT", "0", "0", "BYRADIUS", "30000", "km", "WITHDIST", "ASC"}},
		{"*10\r\n*2\r\n$4\r\neast\r\n$10\r\n19965.1208\r\n*2\r\n$4\r\nwest\r\n$10\r\n19965.1208\r\n*2\r\n$2\r\nsw\r\n$10\r\n10560.8118\r\n*2\r\n$2\r\nn2\r\n$9\r\n9609.5230\r\n*2\r\n$2\r\ns2\r\n$9\r\n9609.5229\r\n*2\r\n$5\r\nnorth\r\n$9\r\n9454.2355\r\n*2\r\n$5\r\nsouth\r\n$9\r\n9454.2355\r\n*2\r\n$7\r\nnegzero\r\n$6\r\n0.0003\r\n*2\r\n$6\r\norigin\r\n$6\r\n0.0003\r\n*2\r\n$4\r\ntiny\r\n$6\r\n0.0003\r\n", []string{"GEOSEARCH", "w", "FROMLONLAT", "0", "0", "BYRADIUS", "40000", "km", "WITHDIST", "DESC"}},
		{"*10\r\n*2\r\n$7\r\nnegzero\r\n$6\r\n0.0003\r\n*2\r\n$6\r\norigin\r\n$6\r\n0.0003\r\n*2\r\n$4\r\ntiny\r\n$6\r\n0.0003\r\n*2\r\n$5\r\nnorth\r\n$9\r\n9454.2355\r\n*2\r\n$5\r\nsouth\r\n$9\r\n9454.2355\r\n*2\r\n$2\r\ns2\r\n$9\r\n9609.5229\r\n*2\r\n$2\r\nn2\r\n$9\r\n9609.5230\r\n*2\r\n$2\r\nsw\r\n$10\r\n10560.8118\r\n*2\r\n$4\r\neast\r\n$10\r\n19965.1208\r\n*2\r\n$4\r\nwest\r\n$10\r\n19965.1208\r\n", []string{"GEOSEARCH", "w", "FROMLONLAT", "0", "0", "BYBOX", "40000", "40000", "km", "WITHDIST", "ASC"}},
		{"*4\r\n*2\r\n$2\r\nn2\r\n$9\r\n3688.7692\r\n*2\r\n$5\r\nnorth\r\n$9\r\n3885.5587\r\n*2\r\n$4\r\neast\r\n$9\r\n6673.9998\r\n*2\r\n$4\r\nwest\r\n$9\r\n6674.0020\r\n", []string{"GEOSEARCH", "w", "FROMLONLAT", "170", "60", "BYRADIUS", "9000", "km", "WITHDIST", "ASC"}},
		{"*3\r\n*2\r\n$2\r\nsw\r\n$9\r\n1685.0465\r\n*2\r\n$2\r\ns2\r\n$9\r\n2590.1668\r\n*2\r\n$5\r\nsouth\r\n$9\r\n2773.8208\r\n", []string{"GEOSEARCH", "w", "FROMLONLAT", "-170", "-70", "BYBOX", "9000", "5000", "km", "WITHDIST", "ASC"}},
		{"*3\r\n$6\r\norigin\r\n$4\r\ntiny\r\n$7\r\nnegzero\r\n", []string{"GEOSEARCH", "w", "FROMLONLAT", "0", "0", "BYRADIUS", "1e300", "m", "ASC", "COUNT", "3"}},
		{":9\r\n", []string{"ZADD", "z", "1.5", "a", "-5", "b", "inf", "c", "-inf", "d", "4503599627370496", "e", "9007199254740992", "f", "1e30", "g", "4503599627370495", "h", "-0.5", "i"}},
		{"*9\r\n*2\r\n,-179.99999731779098511\r\n,-85.05112497791824921\r\n*2\r\n,180\r\n,85.0511287799999991\r\n*2\r\n,-179.99999731779098511\r\n,-85.05112751263942528\r\n*2\r\n,180\r\n,-85.05112751263942528\r\n*2\r\n,-179.99999731779098511\r\n,85.0511287799999991\r\n*2\r\n,180\r\n,-85.05112751263942528\r\n*2\r\n,-179.99999731779098511\r\n,-85.05112751263942528\r\n*2\r\n,179.99999731779098511\r\n,85.05112751263942528\r\n*2\r\n,-179.99999731779098511\r\n,-85.05112751263942528\r\n", []string{"GEOPOS", "z", "a", "b", "c", "d", "e", "f", "g", "h", "i"}},
		{"*9\r\n$11\r\n00bh0hbj210\r\n$11\r\nbp05b5048p0\r\n$11\r\n00bh0hbj200\r\n$11\r\n00bh0hbj200\r\n$11\r\nbp05b5048p0\r\n$11\r\n00bh0hbj200\r\n$11\r\n00bh0hbj200\r\n$11\r\nzzpgzgpfxz0\r\n$11\r\n00bh0hbj200\r\n", []string{"GEOHASH", "z", "a", "b", "c", "d", "e", "f", "g", "h", "i"}},
		{"$13\r\n18919844.1662\r\n", []string{"GEODIST", "z", "a", "h"}},
		{"$10\r\n18919.8446\r\n", []string{"GEODIST", "z", "b", "d", "km"}},
		{"*2\r\n*3\r\n$1\r\nh\r\n:4503599627370495\r\n*2\r\n,179.99999731779098511\r\n,85.05112751263942528\r\n*3\r\n$1\r\na\r\n:1\r\n*2\r\n,-179.99999731779098511\r\n,-85.05112497791824921\r\n", []string{"GEOSEARCH", "z", "FROMLONLAT", "0", "0", "BYRADIUS", "30000", "km", "WITHHASH", "WITHCOORD"}},
		{"*1\r\n*3\r\n$1\r\nh\r\n:4503599627370495\r\n*2\r\n,179.99999731779098511\r\n,85.05112751263942528\r\n", []string{"GEOSEARCH", "z", "FROMMEMBER", "h", "BYRADIUS", "1", "km", "WITHHASH", "WITHCOORD"}},
		{"*1\r\n*3\r\n$1\r\na\r\n:1\r\n*2\r\n,-179.99999731779098511\r\n,-85.05112497791824921\r\n", []string{"GEOSEARCH", "z", "FROMMEMBER", "c", "BYRADIUS", "1", "km", "WITHHASH", "WITHCOORD"}},
	},
	"Ties": {
		{":12\r\n", []string{"GEOADD", "t", "10", "10", "m0", "10", "10", "m1", "10", "10", "m2", "10", "10", "m3", "10", "10", "m4", "10", "10", "m5", "10", "10", "m6", "10", "10", "m7", "10", "10", "m8", "10", "10", "m9", "11", "11", "f1", "9", "9", "f2"}},
		{"*12\r\n$2\r\nf2\r\n$2\r\nm0\r\n$2\r\nm1\r\n$2\r\nm2\r\n$2\r\nm3\r\n$2\r\nm4\r\n$2\r\nm5\r\n$2\r\nm6\r\n$2\r\nm7\r\n$2\r\nm8\r\n$2\r\nm9\r\n$2\r\nf1\r\n", []string{"GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1000", "km"}},
		{"*12\r\n$2\r\nm0\r\n$2\r\nm1\r\n$2\r\nm2\r\n$2\r\nm3\r\n$2\r\nm4\r\n$2\r\nm5\r\n$2\r\nm6\r\n$2\r\nm7\r\n$2\r\nm8\r\n$2\r\nm9\r\n$2\r\nf1\r\n$2\r\nf2\r\n", []string{"GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1000", "km", "ASC"}},
		{"*12\r\n$2\r\nf2\r\n$2\r\nf1\r\n$2\r\nm0\r\n$2\r\nm1\r\n$2\r\nm2\r\n$2\r\nm3\r\n$2\r\nm4\r\n$2\r\nm5\r\n$2\r\nm6\r\n$2\r\nm7\r\n$2\r\nm8\r\n$2\r\nm9\r\n", []string{"GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1000", "km", "DESC"}},
		{"*3\r\n$2\r\nm8\r\n$2\r\nm0\r\n$2\r\nm1\r\n", []string{"GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1000", "km", "COUNT", "3"}},
		{"*11\r\n$2\r\nm8\r\n$2\r\nm0\r\n$2\r\nm1\r\n$2\r\nm2\r\n$2\r\nm3\r\n$2\r\nm4\r\n$2\r\nm5\r\n$2\r\nm6\r\n$2\r\nm7\r\n$2\r\nm9\r\n$2\r\nf1\r\n", []string{"GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1000", "km", "COUNT", "11"}},
		{"*12\r\n$2\r\nm0\r\n$2\r\nm1\r\n$2\r\nm2\r\n$2\r\nm3\r\n$2\r\nm4\r\n$2\r\nm5\r\n$2\r\nm6\r\n$2\r\nm7\r\n$2\r\nm8\r\n$2\r\nm9\r\n$2\r\nf1\r\n$2\r\nf2\r\n", []string{"GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1000", "km", "COUNT", "12"}},
		{"*3\r\n$2\r\nf2\r\n$2\r\nf1\r\n$2\r\nm0\r\n", []string{"GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1000", "km", "COUNT", "3", "DESC"}},
		{"*8\r\n$2\r\nf2\r\n$2\r\nf1\r\n$2\r\nm0\r\n$2\r\nm2\r\n$2\r\nm3\r\n$2\r\nm4\r\n$2\r\nm5\r\n$2\r\nm6\r\n", []string{"GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1000", "km", "COUNT", "8", "DESC"}},
		{"*3\r\n$2\r\nf2\r\n$2\r\nm0\r\n$2\r\nm1\r\n", []string{"GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1000", "km", "COUNT", "3", "ANY"}},
		{"*3\r\n$2\r\nf2\r\n$2\r\nm0\r\n$2\r\nm1\r\n", []string{"GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1000", "km", "COUNT", "3", "ANY", "DESC"}},
		{"*12\r\n$2\r\nf2\r\n$2\r\nm0\r\n$2\r\nm1\r\n$2\r\nm2\r\n$2\r\nm3\r\n$2\r\nm4\r\n$2\r\nm5\r\n$2\r\nm6\r\n$2\r\nm7\r\n$2\r\nm8\r\n$2\r\nm9\r\n$2\r\nf1\r\n", []string{"GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1000", "km", "COUNT", "30", "ANY"}},
		{"*5\r\n*2\r\n$2\r\nf1\r\n$6\r\n0.0000\r\n*2\r\n$2\r\nm0\r\n$8\r\n155.9849\r\n*2\r\n$2\r\nm1\r\n$8\r\n155.9849\r\n*2\r\n$2\r\nm2\r\n$8\r\n155.9849\r\n*2\r\n$2\r\nm3\r\n$8\r\n155.9849\r\n", []string{"GEOSEARCH", "t", "FROMMEMBER", "f1", "BYRADIUS", "1000", "km", "COUNT", "5", "WITHDIST"}},
	},
	"Grid": {
		{"*5\r\n*3\r\n$4\r\np7_7\r\n$6\r\n0.0001\r\n:3663832751688490\r\n*3\r\n$4\r\np6_7\r\n$6\r\n3.6594\r\n:3663832615281066\r\n*3\r\n$4\r\np8_7\r\n$6\r\n3.6596\r\n:3663833177442560\r\n*3\r\n$4\r\np7_8\r\n$6\r\n5.5612\r\n:3663833025432446\r\n*3\r\n$4\r\np7_6\r\n$6\r\n5.5614\r\n:3663821193038382\r\n", []string{"GEOSEARCH", "g", "FROMLONLAT", "2.35", "48.85", "BYRADIUS", "50", "km", "COUNT", "5", "WITHDIST", "WITHHASH"}},
		{"*137\r\n$4\r\np7_7\r\n$4\r\np6_7\r\n$4\r\np8_7\r\n$4\r\np7_8\r\n$4\r\np7_6\r\n$4\r\np6_8\r\n$4\r\np8_8\r\n$4\r\np6_6\r\n$4\r\np8_6\r\n$4\r\np5_7\r\n$4\r\np9_7\r\n$4\r\np5_8\r\n$4\r\np9_8\r\n$4\r\np5_6\r\n$4\r\np9_6\r\n$5\r\np10_7\r\n$4\r\np4_7\r\n$4\r\np7_9\r\n$4\r\np7_5\r\n$4\r\np6_9\r\n$4\r\np8_9\r\n$4\r\np6_5\r\n$4\r\np8_5\r\n$5\r\np10_8\r\n$4\r\np4_8\r\n$5\r\np10_6\r\n$4\r\np4_6\r\n$4\r\np5_9\r\n$4\r\np9_9\r\n$4\r\np5_5\r\n$4\r\np9_5\r\n$4\r\np3_7\r\n$5\r\np11_7\r\n$5\r\np10_9\r\n$4\r\np4_9\r\n$5\r\np10_5\r\n$4\r\np4_5\r\n$4\r\np3_8\r\n$5\r\np11_8\r\n$4\r\np3_6\r\n$5\r\np11_6\r\n$5\r\np7_10\r\n$4\r\np7_4\r\n$5\r\np6_10\r\n$5\r\np8_10\r\n$4\r\np6_4\r\n$4\r\np8_4\r\n$5\r\np5_10\r\n$5\r\np9_10\r\n$4\r\np5_4\r\n$4\r\np9_4\r\n$4\r\np2_7\r\n$5\r\np12_7\r\n$4\r\np3_9\r\n$5\r\np11_9\r\n$4\r\np3_5\r\n$5\r\np11_5\r\n$4\r\np2_8\r\n$5\r\np12_8\r\n$4\r\np2_6\r\n$5\r\np12_6\r\n$6\r\np10_10\r\n$5\r\np4_10\r\n$5\r\np10_4\r\n$4\r\np4_4\r\n$4\r\np2_9\r\n$5\r\np12_9\r\n$4\r\np2_5\r\n$5\r\np12_5\r\n$5\r\np13_7\r\n$4\r\np1_7\r\n$5\r\np3_10\r\n$6\r\np11_10\r\n$4\r\np3_4\r\n$5\r\np11_4\r\n$5\r\np7_11\r\n$4\r\np7_3\r\n$5\r\np6_11\r\n$5\r\np8_11\r\n$4\r\np6_3\r\n$4\r\np8_3\r\n$5\r\np13_8\r\n$4\r\np1_8\r\n$5\r\np13_6\r\n$4\r\np1_6\r\n$5\r\np5_11\r\n$5\r\np9_11\r\n$4\r\np5_3\r\n$4\r\np9_3\r\n$5\r\np13_9\r\n$4\r\np1_9\r\n$5\r\np13_5\r\n$4\r\np1_5\r\n$5\r\np2_10\r\n$6\r\np12_10\r\n$4\r\np2_4\r\n$5\r\np12_4\r\n$6\r\np10_11\r\n$5\r\np4_11\r\n$5\r\np10_3\r\n$4\r\np4_3\r\n$4\r\np0_7\r\n$5\r\np14_7\r\n$4\r\np0_8\r\n$5\r\np14_8\r\n$4\r\np0_6\r\n$5\r\np14_6\r\n$5\r\np3_11\r\n$6\r\np11_11\r\n$4\r\np3_3\r\n$5\r\np11_3\r\n$6\r\np13_10\r\n$5\r\np1_10\r\n$5\r\np13_4\r\n$4\r\np1_4\r\n$4\r\np7_2\r\n$5\r\np7_12\r\n$4\r\np0_9\r\n$5\r\np14_9\r\n$4\r\np0_5\r\n$5\r\np14_5\r\n$5\r\np6_12\r\n$5\r\np8_12\r\n$4\r\np6_2\r\n$4\r\np8_2\r\n$5\r\np5_12\r\n$5\r\np9_12\r\n$4\r\np5_2\r\n$4\r\np9_2\r\n$5\r\np2_11\r\n$6\r\np12_11\r\n$4\r\np2_3\r\n$5\r\np12_3\r\n$6\r\np10_12\r\n$5\r\np4_12\r\n$5\r\np10_2\r\n$4\r\np4_2\r\n", []string{"GEOSEARCH", "g", "FROMLONLAT", "2.35", "48.85", "BYRADIUS", "30", "km", "ASC"}},
		{"*137\r\n$4\r\np3_7\r\n$4\r\np3_8\r\n$4\r\np4_7\r\n$4\r\np5_7\r\n$4\r\np4_8\r\n$4\r\np5_8\r\n$4\r\np3_9\r\n$5\r\np3_10\r\n$4\r\np4_9\r\n$4\r\np5_9\r\n$5\r\np4_10\r\n$5\r\np5_10\r\n$4\r\np6_7\r\n$4\r\np7_7\r\n$4\r\np6_8\r\n$4\r\np7_8\r\n$4\r\np8_7\r\n$4\r\np9_7\r\n$4\r\np8_8\r\n$4\r\np9_8\r\n$4\r\np6_9\r\n$4\r\np7_9\r\n$5\r\np6_10\r\n$5\r\np7_10\r\n$4\r\np8_9\r\n$4\r\np9_9\r\n$5\r\np8_10\r\n$5\r\np9_10\r\n$5\r\np3_11\r\n$5\r\np4_11\r\n$5\r\np5_11\r\n$5\r\np4_12\r\n$5\r\np5_12\r\n$5\r\np6_11\r\n$5\r\np7_11\r\n$5\r\np8_11\r\n$5\r\np9_11\r\n$5\r\np6_12\r\n$5\r\np7_12\r\n$5\r\np8_12\r\n$5\r\np9_12\r\n$5\r\np10_7\r\n$5\r\np10_8\r\n$5\r\np11_7\r\n$5\r\np12_7\r\n$5\r\np11_8\r\n$5\r\np12_8\r\n$5\r\np10_9\r\n$6\r\np10_10\r\n$5\r\np11_9\r\n$5\r\np12_9\r\n$6\r\np11_10\r\n$6\r\np12_10\r\n$5\r\np13_7\r\n$5\r\np14_7\r\n$5\r\np13_8\r\n$5\r\np14_8\r\n$5\r\np13_9\r\n$5\r\np14_9\r\n$6\r\np13_10\r\n$6\r\np10_11\r\n$6\r\np11_11\r\n$6\r\np12_11\r\n$6\r\np10_12\r\n$4\r\np3_3\r\n$4\r\np4_2\r\n$4\r\np5_2\r\n$4\r\np4_3\r\n$4\r\np5_3\r\n$4\r\np6_2\r\n$4\r\np7_2\r\n$4\r\np6_3\r\n$4\r\np7_3\r\n$4\r\np8_2\r\n$4\r\np9_2\r\n$4\r\np8_3\r\n$4\r\np9_3\r\n$4\r\np3_4\r\n$4\r\np3_5\r\n$4\r\np4_4\r\n$4\r\np5_4\r\n$4\r\np4_5\r\n$4\r\np5_5\r\n$4\r\np3_6\r\n$4\r\np4_6\r\n$4\r\np5_6\r\n$4\r\np6_4\r\n$4\r\np7_4\r\n$4\r\np6_5\r\n$4\r\np7_5\r\n$4\r\np8_4\r\n$4\r\np9_4\r\n$4\r\np8_5\r\n$4\r\np9_5\r\n$4\r\np6_6\r\n$4\r\np7_6\r\n$4\r\np8_6\r\n$4\r\np9_6\r\n$5\r\np10_2\r\n$5\r\np10_3\r\n$5\r\np11_3\r\n$5\r\np12_3\r\n$5\r\np10_4\r\n$5\r\np10_5\r\n$5\r\np11_4\r\n$5\r\np12_4\r\n$5\r\np11_5\r\n$5\r\np12_5\r\n$5\r\np10_6\r\n$5\r\np11_6\r\n$5\r\np12_6\r\n$5\r\np13_4\r\n$5\r\np13_5\r\n$5\r\np14_5\r\n$5\r\np13_6\r\n$5\r\np14_6\r\n$4\r\np0_7\r\n$4\r\np0_8\r\n$4\r\np1_7\r\n$4\r\np2_7\r\n$4\r\np1_8\r\n$4\r\np2_8\r\n$4\r\np0_9\r\n$4\r\np1_9\r\n$4\r\np2_9\r\n$5\r\np1_10\r\n$5\r\np2_10\r\n$5\r\np2_11\r\n$4\r\np2_3\r\n$4\r\np0_5\r\n$4\r\np1_4\r\n$4\r\np2_4\r\n$4\r\np1_5\r\n$4\r\np2_5\r\n$4\r\np0_6\r\n$4\r\np1_6\r\n$4\r\np2_6\r\n", []string{"GEOSEARCH", "g", "FROMLONLAT", "2.35", "48.85", "BYRADIUS", "30", "km"}},
		{"*75\r\n$5\r\np14_5\r\n$4\r\np0_5\r\n$5\r\np14_9\r\n$4\r\np0_9\r\n$5\r\np14_6\r\n$4\r\np0_6\r\n$5\r\np14_8\r\n$4\r\np0_8\r\n$5\r\np14_7\r\n$4\r\np0_7\r\n$4\r\np1_5\r\n$5\r\np13_5\r\n$4\r\np1_9\r\n$5\r\np13_9\r\n$4\r\np1_6\r\n$5\r\np13_6\r\n$4\r\np1_8\r\n$5\r\np13_8\r\n$4\r\np1_7\r\n$5\r\np13_7\r\n$5\r\np12_5\r\n$4\r\np2_5\r\n$5\r\np12_9\r\n$4\r\np2_9\r\n$5\r\np12_6\r\n$4\r\np2_6\r\n$5\r\np12_8\r\n$4\r\np2_8\r\n$5\r\np11_5\r\n$4\r\np3_5\r\n$5\r\np11_9\r\n$4\r\np3_9\r\n$5\r\np12_7\r\n$4\r\np2_7\r\n$5\r\np11_6\r\n$4\r\np3_6\r\n$5\r\np11_8\r\n$4\r\np3_8\r\n$4\r\np4_5\r\n$5\r\np10_5\r\n$4\r\np4_9\r\n$5\r\np10_9\r\n$5\r\np11_7\r\n$4\r\np3_7\r\n$4\r\np9_5\r\n$4\r\np5_5\r\n$4\r\np9_9\r\n$4\r\np5_9\r\n$4\r\np4_6\r\n$5\r\np10_6\r\n$4\r\np4_8\r\n$5\r\np10_8\r\n$4\r\np8_5\r\n$4\r\np6_5\r\n$4\r\np8_9\r\n$4\r\np6_9\r\n$4\r\np7_5\r\n$4\r\np7_9\r\n$4\r\np4_7\r\n$5\r\np10_7\r\n$4\r\np9_6\r\n$4\r\np5_6\r\n$4\r\np9_8\r\n$4\r\np5_8\r\n$4\r\np9_7\r\n$4\r\np5_7\r\n$4\r\np8_6\r\n$4\r\np6_6\r\n$4\r\np8_8\r\n$4\r\np6_8\r\n$4\r\np7_6\r\n$4\r\np7_8\r\n$4\r\np8_7\r\n$4\r\np6_7\r\n$4\r\np7_7\r\n", []string{"GEOSEARCH", "g", "FROMLONLAT", "2.35", "48.85", "BYBOX", "60", "30", "km", "DESC"}},
		{"*7\r\n$4\r\np3_7\r\n$4\r\np3_8\r\n$4\r\np4_7\r\n$4\r\np5_7\r\n$4\r\np4_8\r\n$4\r\np5_8\r\n$4\r\np3_9\r\n", []string{"GEOSEARCH", "g", "FROMLONLAT", "2.35", "48.85", "BYBOX", "60", "30", "km", "COUNT", "7", "ANY"}},
		{"*7\r\n*2\r\n$4\r\np5_7\r\n$6\r\n7.3190\r\n*2\r\n$4\r\np5_8\r\n$6\r\n9.1892\r\n*2\r\n$4\r\np4_7\r\n$7\r\n10.9787\r\n*2\r\n$4\r\np4_8\r\n$7\r\n12.3019\r\n*2\r\n$4\r\np3_7\r\n$7\r\n14.6379\r\n*2\r\n$4\r\np3_8\r\n$7\r\n15.6519\r\n*2\r\n$4\r\np3_9\r\n$7\r\n18.3726\r\n", []string{"GEOSEARCH", "g", "FROMLONLAT", "2.35", "48.85", "BYBOX", "60", "30", "km", "COUNT", "7", "ANY", "ASC", "WITHDIST"}},
		{"*13\r\n*2\r\n$4\r\np4_3\r\n$7\r\n24.8165\r\n*2\r\n$5\r\np10_3\r\n$7\r\n24.8165\r\n*2\r\n$5\r\np4_11\r\n$7\r\n24.7971\r\n*2\r\n$6\r\np10_11\r\n$7\r\n24.7971\r\n*2\r\n$5\r\np12_4\r\n$7\r\n24.7824\r\n*2\r\n$4\r\np2_4\r\n$7\r\n24.7821\r\n*2\r\n$6\r\np12_10\r\n$7\r\n24.7419\r\n*2\r\n$5\r\np2_10\r\n$7\r\n24.7416\r\n*2\r\n$4\r\np1_5\r\n$7\r\n24.6331\r\n*2\r\n$5\r\np13_5\r\n$7\r\n24.6331\r\n*2\r\n$4\r\np1_9\r\n$7\r\n24.5940\r\n*2\r\n$5\r\np13_9\r\n$7\r\n24.5940\r\n*2\r\n$4\r\np9_3\r\n$7\r\n23.4230\r\n", []string{"GEOSEARCH", "g", "FROMMEMBER", "p7_7", "BYRADIUS", "25", "km", "COUNT", "13", "DESC", "WITHDIST"}},
		{"*50\r\n$4\r\np0_0\r\n$4\r\np1_0\r\n$4\r\np0_1\r\n$4\r\np1_1\r\n$4\r\np2_0\r\n$4\r\np2_1\r\n$4\r\np3_0\r\n$4\r\np0_2\r\n$4\r\np1_2\r\n$4\r\np3_1\r\n$4\r\np2_2\r\n$4\r\np4_0\r\n$4\r\np3_2\r\n$4\r\np4_1\r\n$4\r\np0_3\r\n$4\r\np1_3\r\n$4\r\np2_3\r\n$4\r\np5_0\r\n$4\r\np4_2\r\n$4\r\np5_1\r\n$4\r\np3_3\r\n$4\r\np5_2\r\n$4\r\np6_0\r\n$4\r\np0_4\r\n$4\r\np4_3\r\n$4\r\np1_4\r\n$4\r\np6_1\r\n$4\r\np2_4\r\n$4\r\np6_2\r\n$4\r\np3_4\r\n$4\r\np5_3\r\n$4\r\np7_0\r\n$4\r\np7_1\r\n$4\r\np4_4\r\n$4\r\np6_3\r\n$4\r\np0_5\r\n$4\r\np1_5\r\n$4\r\np7_2\r\n$4\r\np2_5\r\n$4\r\np5_4\r\n$4\r\np8_0\r\n$4\r\np3_5\r\n$4\r\np8_1\r\n$4\r\np7_3\r\n$4\r\np6_4\r\n$4\r\np4_5\r\n$4\r\np8_2\r\n$4\r\np9_0\r\n$4\r\np5_5\r\n$4\r\np0_6\r\n", []string{"GEOSEARCH", "g", "FROMMEMBER", "p0_0", "BYRADIUS", "100", "km", "COUNT", "50"}},
		{"*3\r\n*3\r\n$4\r\np6_7\r\n$6\r\n3.6594\r\n*2\r\n,2.30000227689743042\r\n,48.84999911645039106\r\n*3\r\n$4\r\np7_7\r\n$6\r\n0.0001\r\n*2\r\n,2.34999865293502808\r\n,48.84999911645039106\r\n*3\r\n$4\r\np8_7\r\n$6\r\n3.6596\r\n*2\r\n,2.40000039339065552\r\n,48.84999911645039106\r\n", []string{"GEOSEARCH", "g", "FROMLONLAT", "2.35", "48.85", "BYRADIUS", "5", "km", "WITHDIST", "WITHCOORD"}},
		{"*200\r\n$4\r\np7_7\r\n$4\r\np6_7\r\n$4\r\np8_7\r\n$4\r\np7_8\r\n$4\r\np7_6\r\n$4\r\np6_8\r\n$4\r\np8_8\r\n$4\r\np6_6\r\n$4\r\np8_6\r\n$4\r\np5_7\r\n$4\r\np9_7\r\n$4\r\np5_8\r\n$4\r\np9_8\r\n$4\r\np5_6\r\n$4\r\np9_6\r\n$5\r\np10_7\r\n$4\r\np4_7\r\n$4\r\np7_9\r\n$4\r\np7_5\r\n$4\r\np6_9\r\n$4\r\np8_9\r\n$4\r\np6_5\r\n$4\r\np8_5\r\n$5\r\np10_8\r\n$4\r\np4_8\r\n$5\r\np10_6\r\n$4\r\np4_6\r\n$4\r\np5_9\r\n$4\r\np9_9\r\n$4\r\np5_5\r\n$4\r\np9_5\r\n$4\r\np3_7\r\n$5\r\np11_7\r\n$5\r\np10_9\r\n$4\r\np4_9\r\n$5\r\np10_5\r\n$4\r\np4_5\r\n$4\r\np3_8\r\n$5\r\np11_8\r\n$4\r\np3_6\r\n$5\r\np11_6\r\n$5\r\np7_10\r\n$4\r\np7_4\r\n$5\r\np6_10\r\n$5\r\np8_10\r\n$4\r\np6_4\r\n$4\r\np8_4\r\n$5\r\np5_10\r\n$5\r\np9_10\r\n$4\r\np5_4\r\n$4\r\np9_4\r\n$4\r\np2_7\r\n$5\r\np12_7\r\n$4\r\np3_9\r\n$5\r\np11_9\r\n$4\r\np3_5\r\n$5\r\np11_5\r\n$4\r\np2_8\r\n$5\r\np12_8\r\n$4\r\np2_6\r\n$5\r\np12_6\r\n$6\r\np10_10\r\n$5\r\np4_10\r\n$5\r\np10_4\r\n$4\r\np4_4\r\n$4\r\np2_9\r\n$5\r\np12_9\r\n$4\r\np2_5\r\n$5\r\np12_5\r\n$5\r\np13_7\r\n$4\r\np1_7\r\n$5\r\np3_10\r\n$6\r\np11_10\r\n$4\r\np3_4\r\n$5\r\np11_4\r\n$5\r\np7_11\r\n$4\r\np7_3\r\n$5\r\np6_11\r\n$5\r\np8_11\r\n$4\r\np6_3\r\n$4\r\np8_3\r\n$5\r\np13_8\r\n$4\r\np1_8\r\n$5\r\np13_6\r\n$4\r\np1_6\r\n$5\r\np5_11\r\n$5\r\np9_11\r\n$4\r\np5_3\r\n$4\r\np9_3\r\n$5\r\np13_9\r\n$4\r\np1_9\r\n$5\r\np13_5\r\n$4\r\np1_5\r\n$5\r\np2_10\r\n$6\r\np12_10\r\n$4\r\np2_4\r\n$5\r\np12_4\r\n$6\r\np10_11\r\n$5\r\np4_11\r\n$5\r\np10_3\r\n$4\r\np4_3\r\n$4\r\np0_7\r\n$5\r\np14_7\r\n$4\r\np0_8\r\n$5\r\np14_8\r\n$4\r\np0_6\r\n$5\r\np14_6\r\n$5\r\np3_11\r\n$6\r\np11_11\r\n$4\r\np3_3\r\n$5\r\np11_3\r\n$6\r\np13_10\r\n$5\r\np1_10\r\n$5\r\np13_4\r\n$4\r\np1_4\r\n$4\r\np7_2\r\n$5\r\np7_12\r\n$4\r\np0_9\r\n$5\r\np14_9\r\n$4\r\np0_5\r\n$5\r\np14_5\r\n$5\r\np6_12\r\n$5\r\np8_12\r\n$4\r\np6_2\r\n$4\r\np8_2\r\n$5\r\np5_12\r\n$5\r\np9_12\r\n$4\r\np5_2\r\n$4\r\np9_2\r\n$5\r\np2_11\r\n$6\r\np12_11\r\n$4\r\np2_3\r\n$5\r\np12_3\r\n$6\r\np10_12\r\n$5\r\np4_12\r\n$5\r\np10_2\r\n$4\r\np4_2\r\n$5\r\np0_10\r\n$6\r\np14_10\r\n$4\r\np0_4\r\n$5\r\np14_4\r\n$6\r\np13_11\r\n$5\r\np1_11\r\n$5\r\np13_3\r\n$4\r\np1_3\r\n$5\r\np3_12\r\n$6\r\np11_12\r\n$4\r\np3_2\r\n$5\r\np11_2\r\n$5\r\np2_12\r\n$6\r\np12_12\r\n$4\r\np2_2\r\n$5\r\np12_2\r\n$4\r\np7_1\r\n$5\r\np7_13\r\n$5\r\np6_13\r\n$5\r\np8_13\r\n$4\r\np6_1\r\n$4\r\np8_1\r\n$5\r\np0_11\r\n$6\r\np14_11\r\n$4\r\np0_3\r\n$5\r\np14_3\r\n$5\r\np5_13\r\n$5\r\np9_13\r\n$4\r\np5_1\r\n$4\r\np9_1\r\n$6\r\np10_13\r\n$5\r\np4_13\r\n$5\r\np10_1\r\n$4\r\np4_1\r\n$6\r\np13_12\r\n$5\r\np1_12\r\n$5\r\np13_2\r\n$4\r\np1_2\r\n$5\r\np3_13\r\n$6\r\np11_13\r\n$4\r\np3_1\r\n$5\r\np11_1\r\n$5\r\np0_12\r\n$6\r\np14_12\r\n$4\r\np0_2\r\n$5\r\np14_2\r\n$5\r\np2_13\r\n$6\r\np12_13\r\n$4\r\np2_1\r\n$5\r\np12_1\r\n$4\r\np7_0\r\n$5\r\np7_14\r\n$5\r\np6_14\r\n$5\r\np8_14\r\n$4\r\np6_0\r\n$4\r\np8_0\r\n$5\r\np5_14\r\n$5\r\np9_14\r\n$4\r\np5_0\r\n$4\r\np9_0\r\n$6\r\np13_13\r\n$5\r\np1_13\r\n$5\r\np13_1\r\n", []string{"GEORADIUS", "g", "2.35", "48.85", "1000", "km", "COUNT", "200"}},
		{":65\r\n", []string{"GEOSEARCHSTORE", "dst", "g", "FROMLONLAT", "2.35", "48.85", "BYRADIUS", "20", "km"}},
		{"*65\r\n*2\r\n$4\r\np2_6\r\n,3663795991038116\r\n*2\r\n$4\r\np2_7\r\n,3663807549688224\r\n*2\r\n$4\r\np2_8\r\n,3663807823432180\r\n*2\r\n$4\r\np3_5\r\n,3663817957611314\r\n*2\r\n$4\r\np4_4\r\n,3663818165567158\r\n*2\r\n$4\r\np5_4\r\n,3663818302241852\r\n*2\r\n$4\r\np4_5\r\n,3663818450452402\r\n*2\r\n$4\r\np5_5\r\n,3663818587127096\r\n*2\r\n$4\r\np3_6\r\n,3663818944397862\r\n*2\r\n$4\r\np4_6\r\n,3663819437238950\r\n*2\r\n$4\r\np5_6\r\n,3663819573913644\r\n*2\r\n$4\r\np6_4\r\n,3663819784959166\r\n*2\r\n$4\r\np7_4\r\n,3663819921366590\r\n*2\r\n$4\r\np6_5\r\n,3663820069844410\r\n*2\r\n$4\r\np7_5\r\n,3663820206251834\r\n*2\r\n$4\r\np8_4\r\n,3663820347120660\r\n*2\r\n$4\r\np9_4\r\n,3663820489036950\r\n*2\r\n$4\r\np8_5\r\n,3663820632005904\r\n*2\r\n$4\r\np9_5\r\n,3663820773922194\r\n*2\r\n$4\r\np6_6\r\n,3663821056630958\r\n*2\r\n$4\r\np7_6\r\n,3663821193038382\r\n*2\r\n$4\r\np8_6\r\n,3663821618792452\r\n*2\r\n$4\r\np9_6\r\n,3663821760708742\r\n*2\r\n$5\r\np10_4\r\n,3663826262507030\r\n*2\r\n$5\r\np10_5\r\n,3663826547392274\r\n*2\r\n$5\r\np11_5\r\n,3663827040253848\r\n*2\r\n$5\r\np10_6\r\n,3663827534178822\r\n*2\r\n$5\r\np11_6\r\n,3663828027040396\r\n*2\r\n$5\r\np12_6\r\n,3663828163452942\r\n*2\r\n$4\r\np3_7\r\n,3663830503047970\r\n*2\r\n$4\r\np3_8\r\n,3663830776791926\r\n*2\r\n$4\r\np4_7\r\n,3663830995889058\r\n*2\r\n$4\r\np5_7\r\n,3663831132563752\r\n*2\r\n$4\r\np4_8\r\n,3663831269633014\r\n*2\r\n$4\r\np5_8\r\n,3663831406307708\r\n*2\r\n$4\r\np3_9\r\n,3663831632103026\r\n*2\r\n$4\r\np4_9\r\n,3663832124944114\r\n*2\r\n$4\r\np5_9\r\n,3663832261618808\r\n*2\r\n$5\r\np4_10\r\n,3663832409173990\r\n*2\r\n$5\r\np5_10\r\n,3663832545848684\r\n*2\r\n$4\r\np6_7\r\n,3663832615281066\r\n*2\r\n$4\r\np7_7\r\n,3663832751688490\r\n*2\r\n$4\r\np6_8\r\n,3663832889025022\r\n*2\r\n$4\r\np7_8\r\n,3663833025432446\r\n*2\r\n$4\r\np8_7\r\n,3663833177442560\r\n*2\r\n$4\r\np9_7\r\n,3663833319358850\r\n*2\r\n$4\r\np8_8\r\n,3663833451186516\r\n*2\r\n$4\r\np9_8\r\n,3663833593102806\r\n*2\r\n$4\r\np6_9\r\n,3663833744336122\r\n*2\r\n$4\r\np7_9\r\n,3663833880743546\r\n*2\r\n$5\r\np6_10\r\n,3663834028565998\r\n*2\r\n$5\r\np7_10\r\n,3663834164973422\r\n*2\r\n$4\r\np8_9\r\n,3663834306497616\r\n*2\r\n$4\r\np9_9\r\n,3663834448413906\r\n*2\r\n$5\r\np8_10\r\n,3663834590727492\r\n*2\r\n$5\r\np9_10\r\n,3663834732643782\r\n*2\r\n$5\r\np10_7\r\n,3663839092828930\r\n*2\r\n$5\r\np10_8\r\n,3663839366572886\r\n*2\r\n$5\r\np11_7\r\n,3663839585690504\r\n*2\r\n$5\r\np12_7\r\n,3663839722103050\r\n*2\r\n$5\r\np11_8\r\n,3663839859434460\r\n*2\r\n$5\r\np12_8\r\n,3663839995847006\r\n*2\r\n$5\r\np10_9\r\n,3663840221883986\r\n*2\r\n$6\r\np10_10\r\n,3663840506113862\r\n*2\r\n$5\r\np11_9\r\n,3663840714745560\r\n", []string{"ZRANGE", "dst", "0", "-1", "WITHSCORES"}},
		{":225\r\n", []string{"GEOSEARCHSTORE", "dst", "g", "FROMLONLAT", "2.35", "48.85", "BYRADIUS", "1000", "km"}},
		{":225\r\n", []string{"ZCARD", "dst"}},
	},
	"Store": {
		{":2\r\n", []string{"GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"}},
		{":2\r\n", []string{"GEOADD", "Sicily", "12.5", "37.8", "Marsala", "15.55", "38.19", "Messina"}},
		{":3\r\n", []string{"GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"}},
		{"*3\r\n*2\r\n$7\r\nPalermo\r\n,3479099956230698\r\n*2\r\n$7\r\nCatania\r\n,3479447370796909\r\n*2\r\n$7\r\nMessina\r\n,3479616586915276\r\n", []string{"ZRANGE", "d", "0", "-1", "WITHSCORES"}},
		{"*2\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n", []string{"GEOPOS", "d", "Catania", "Palermo"}},
		{":3\r\n", []string{"GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST"}},
		{"*3\r\n*2\r\n$7\r\nCatania\r\n,56.441257870158204\r\n*2\r\n$7\r\nMessina\r\n,140.95476981547017\r\n*2\r\n$7\r\nPalermo\r\n,190.44242984775784\r\n", []string{"ZRANGE", "d", "0", "-1", "WITHSCORES"}},
		{",56.441257870158204\r\n", []string{"ZSCORE", "d", "Catania"}},
		{":2\r\n", []string{"GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "mi", "storedist", "DESC", "COUNT", "2"}},
		{"*2\r\n*2\r\n$7\r\nPalermo\r\n,118.33573380874013\r\n*2\r\n$7\r\nMarsala\r\n,147.97184215903383\r\n", []string{"ZRANGE", "d", "0", "-1", "WITHSCORES"}},
		{":2\r\n", []string{"GEOSEARCHSTORE", "d", "Sicily", "FROMMEMBER", "Catania", "BYBOX", "300", "300", "km", "ASC", "COUNT", "3", "STOREDIST"}},
		{"*2\r\n*2\r\n$7\r\nCatania\r\n,0\r\n*2\r\n$7\r\nMessina\r\n,86.580985258810784\r\n", []string{"ZRANGE", "d", "0", "-1", "WITHSCORES"}},
		{":1\r\n", []string{"GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "COUNT", "1", "ANY"}},
		{"*1\r\n*2\r\n$7\r\nPalermo\r\n,3479099956230698\r\n", []string{"ZRANGE", "d", "0", "-1", "WITHSCORES"}},
		{":0\r\n", []string{"GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m"}},
		{":0\r\n", []string{"ZCARD", "d"}},
		{":3\r\n", []string{"GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"}},
		{":0\r\n", []string{"GEOSEARCHSTORE", "d", "nokey", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"}},
		{":0\r\n", []string{"ZCARD", "d"}},
		{":3\r\n", []string{"GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "r1"}},
		{"*3\r\n*2\r\n$7\r\nPalermo\r\n,3479099956230698\r\n*2\r\n$7\r\nCatania\r\n,3479447370796909\r\n*2\r\n$7\r\nMessina\r\n,3479616586915276\r\n", []string{"ZRANGE", "r1", "0", "-1", "WITHSCORES"}},
		{":2\r\n", []string{"GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "r2", "COUNT", "2", "DESC"}},
		{"*2\r\n*2\r\n$7\r\nMessina\r\n,140.95476981547017\r\n*2\r\n$7\r\nPalermo\r\n,190.44242984775784\r\n", []string{"ZRANGE", "r2", "0", "-1", "WITHSCORES"}},
		{":3\r\n", []string{"GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "r2", "STORE", "r3"}},
		{"*3\r\n*2\r\n$7\r\nPalermo\r\n,3479099956230698\r\n*2\r\n$7\r\nCatania\r\n,3479447370796909\r\n*2\r\n$7\r\nMessina\r\n,3479616586915276\r\n", []string{"ZRANGE", "r3", "0", "-1", "WITHSCORES"}},
		{":2\r\n", []string{"ZCARD", "r2"}},
		{":4\r\n", []string{"GEORADIUSBYMEMBER", "Sicily", "Palermo", "300", "km", "STOREDIST", "r4"}},
		{"*4\r\n*2\r\n$7\r\nPalermo\r\n,0\r\n*2\r\n$7\r\nMarsala\r\n,83.297322452927489\r\n*2\r\n$7\r\nCatania\r\n,166.27415156960032\r\n*2\r\n$7\r\nMessina\r\n,191.6006970123089\r\n", []string{"ZRANGE", "r4", "0", "-1", "WITHSCORES"}},
		{":0\r\n", []string{"GEORADIUSBYMEMBER", "nokey", "Palermo", "300", "kmx", "STORE", "r4"}},
		{":0\r\n", []string{"ZCARD", "r4"}},
		{":0\r\n", []string{"GEORADIUS", "nokey", "15", "37", "300", "km", "STORE", "r1"}},
		{":0\r\n", []string{"ZCARD", "r1"}},
		{"+OK\r\n", []string{"SET", "str", "x"}},
		{":3\r\n", []string{"GEOSEARCHSTORE", "str", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"}},
		{"*3\r\n*2\r\n$7\r\nPalermo\r\n,3479099956230698\r\n*2\r\n$7\r\nCatania\r\n,3479447370796909\r\n*2\r\n$7\r\nMessina\r\n,3479616586915276\r\n", []string{"ZRANGE", "str", "0", "-1", "WITHSCORES"}},
		{":3\r\n", []string{"GEOSEARCHSTORE", "Sicily", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST"}},
		{"*3\r\n*2\r\n$7\r\nCatania\r\n,56.441257870158204\r\n*2\r\n$7\r\nMessina\r\n,140.95476981547017\r\n*2\r\n$7\r\nPalermo\r\n,190.44242984775784\r\n", []string{"ZRANGE", "Sicily", "0", "-1", "WITHSCORES"}},
	},
}
