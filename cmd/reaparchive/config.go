package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/reaparchive/reaparchive/layout"
)

// Config is the YAML configuration file.
//
//	store: file:///var/lib/reaparchive
//	index: /var/lib/reaparchive/index.db
//	channels:
//	  - name: news
//	    preferred_source: fiber
//	    sources:
//	      - name: fiber
//	        mpd: http://enc-a.example/news/manifest.mpd
//	      - name: satellite
//	        mpd: http://enc-b.example/news/manifest.mpd
//	      - name: encoder3        # a push source (record --listen)
//	        token: s3cret
//	ingest_auth:                  # push credentials for every channel
//	  encoder4: user:password
type Config struct {
	Store    string          `yaml:"store"`
	Index    string          `yaml:"index"`
	Channels []ChannelConfig `yaml:"channels"`
	// IngestAuth maps push source names to their credential, for every
	// channel record --listen receives ("TOKEN": bearer, "user:password":
	// basic), like --ingest-auth SOURCE=VALUE.
	IngestAuth map[string]string `yaml:"ingest_auth"`
	// MaxTimeSkew is record's --max-time-skew: how far from the recorder's
	// clock a live segment's time may be (e.g. 24h; 0 turns the check off).
	MaxTimeSkew *configDuration `yaml:"max_time_skew"`
	// RetentionMinFree is the free space a file store keeps: when its
	// file system has less, prune and record delete the oldest segments of
	// every channel first until it has it again ("10%" of the file system,
	// or a size such as "50GB"). S3 and GCS stores ignore it.
	RetentionMinFree string `yaml:"retention_min_free"`

	minFree minFree // RetentionMinFree, parsed
}

// ChannelConfig configures one channel.
type ChannelConfig struct {
	Name            string `yaml:"name"`
	PreferredSource string `yaml:"preferred_source"`
	// Grace is how long after the first delivery of a segment the
	// preferred source's copy is waited for (default 2s; parsed like the
	// duration flags: 2s, 500ms).
	Grace   configDuration `yaml:"grace"`
	Sources []SourceConfig `yaml:"sources"`
	// Retention is how long the channel's archive is kept (7d, 36h, 2m;
	// parsed by parseDuration): prune, and record while it runs, delete
	// what ends before now minus it (README, Retention). Empty: for ever.
	Retention string `yaml:"retention"`

	retention time.Duration // Retention, parsed
}

// SourceConfig is one source of a channel.
//
// A source with an mpd is pulled; one without is a push source (record
// --listen). token (bearer) or user and password (basic auth) are the
// credentials the source must present when it pushes.
type SourceConfig struct {
	Name     string `yaml:"name"`
	MPD      string `yaml:"mpd"`
	Token    string `yaml:"token"`
	User     string `yaml:"user"`
	Password string `yaml:"password"`
}

// LoadConfig reads and checks a config file; unknown keys are errors.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parseConfig(data, path)
}

// parseConfig parses and checks the config file contents read from path
// (named in errors).
func parseConfig(data []byte, path string) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if c.MaxTimeSkew != nil && *c.MaxTimeSkew < 0 {
		return nil, fmt.Errorf("config %s: max_time_skew %v is negative", path, time.Duration(*c.MaxTimeSkew))
	}
	seen := map[string]bool{}
	for i, ch := range c.Channels {
		if ch.Name == "" {
			return nil, fmt.Errorf("config %s: channels[%d] has no name", path, i)
		}
		if err := layout.ValidName("channel", ch.Name); err != nil {
			return nil, fmt.Errorf("config %s: channels[%d]: %w", path, i, err)
		}
		if seen[ch.Name] {
			return nil, fmt.Errorf("config %s: channel %q listed twice", path, ch.Name)
		}
		seen[ch.Name] = true
		if ch.Grace < 0 {
			return nil, fmt.Errorf("config %s: channel %q grace %s: must not be negative", path, ch.Name, time.Duration(ch.Grace))
		}
		if ch.Retention != "" {
			d, err := parseRetention(ch.Retention)
			if err != nil {
				return nil, fmt.Errorf("config %s: channel %q retention %w", path, ch.Name, err)
			}
			c.Channels[i].retention = d
		}
		for j, s := range ch.Sources {
			if s.Name == "" {
				return nil, fmt.Errorf("config %s: channel %q sources[%d] has no name", path, ch.Name, j)
			}
			if err := layout.ValidName("source", s.Name); err != nil {
				return nil, fmt.Errorf("config %s: channel %q sources[%d]: %w", path, ch.Name, j, err)
			}
		}
	}
	if c.RetentionMinFree != "" {
		m, err := parseMinFree(c.RetentionMinFree)
		if err != nil {
			return nil, fmt.Errorf("config %s: retention_min_free %q: %w", path, c.RetentionMinFree, err)
		}
		c.minFree = m
	}
	return &c, nil
}

// retention is the channel's retention policy (0: none).
func (c *Config) retention(name string) time.Duration {
	ch, _ := c.channel(name)
	return ch.retention
}

// retentions are the channels' retention policies (channels without one
// are left out).
func (c *Config) retentions() map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, ch := range c.Channels {
		if ch.retention > 0 {
			out[ch.Name] = ch.retention
		}
	}
	return out
}

// channel returns the named channel's config, if any.
func (c *Config) channel(name string) (ChannelConfig, bool) {
	for _, ch := range c.Channels {
		if ch.Name == name {
			return ch, true
		}
	}
	return ChannelConfig{}, false
}
