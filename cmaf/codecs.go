package cmaf

import (
	"fmt"

	"github.com/Eyevinn/mp4ff/avc"
	"github.com/Eyevinn/mp4ff/hevc"
	"github.com/Eyevinn/mp4ff/mp4"
)

// codecString builds the RFC 6381 codecs parameter of a sample entry. For
// encrypted entries (encv, enca) the original format from frma is used.
func codecString(entry mp4.Box) (string, error) {
	switch e := entry.(type) {
	case *mp4.VisualSampleEntryBox:
		return visualCodec(e)
	case *mp4.AudioSampleEntryBox:
		return audioCodec(e)
	case *mp4.WvttBox:
		return "wvtt", nil
	case *mp4.StppBox:
		return "stpp", nil
	case *mp4.EvteBox:
		return "evte", nil
	}
	return entry.Type(), nil
}

func visualCodec(e *mp4.VisualSampleEntryBox) (string, error) {
	format := e.Type()
	if format == "encv" {
		if e.Sinf == nil || e.Sinf.Frma == nil {
			return "", fmt.Errorf("encv without sinf/frma")
		}
		format = e.Sinf.Frma.DataFormat
	}
	switch format {
	case "avc1", "avc3":
		if e.AvcC == nil {
			return "", fmt.Errorf("no avcC")
		}
		c := e.AvcC.DecConfRec
		return avc.CodecString(format, &avc.SPS{
			Profile:              uint32(c.AVCProfileIndication),
			ProfileCompatibility: uint32(c.ProfileCompatibility),
			Level:                uint32(c.AVCLevelIndication),
		}), nil
	case "hvc1", "hev1":
		if e.HvcC == nil {
			return "", fmt.Errorf("no hvcC")
		}
		c := e.HvcC.DecConfRec
		return hevc.CodecString(format, &hevc.SPS{ProfileTierLevel: hevc.ProfileTierLevel{
			GeneralProfileSpace:              c.GeneralProfileSpace,
			GeneralTierFlag:                  c.GeneralTierFlag,
			GeneralProfileIDC:                c.GeneralProfileIDC,
			GeneralProfileCompatibilityFlags: c.GeneralProfileCompatibilityFlags,
			GeneralConstraintIndicatorFlags:  c.GeneralConstraintIndicatorFlags,
			GeneralLevelIDC:                  c.GeneralLevelIDC,
		}}), nil
	case "dvh1", "dvhe":
		if e.DoViConfig == nil {
			return "", fmt.Errorf("no Dolby Vision configuration")
		}
		return fmt.Sprintf("%s.%02d.%02d", format, e.DoViConfig.DVProfile, e.DoViConfig.DVLevel), nil
	case "av01":
		if e.Av1C == nil {
			return "", fmt.Errorf("no av1C")
		}
		return e.Av1C.CodecString(format), nil
	case "vp08", "vp09":
		if e.VppC == nil {
			return "", fmt.Errorf("no vpcC")
		}
		return fmt.Sprintf("%s.%02d.%02d.%02d", format, e.VppC.Profile, e.VppC.Level, e.VppC.BitDepth), nil
	case "mp4v":
		if e.Esds == nil || e.Esds.DecConfigDescriptor == nil {
			return "", fmt.Errorf("no esds")
		}
		return fmt.Sprintf("mp4v.%02X", e.Esds.DecConfigDescriptor.ObjectType), nil
	}
	return format, nil
}

func audioCodec(e *mp4.AudioSampleEntryBox) (string, error) {
	format := e.Type()
	if format == "enca" {
		if e.Sinf == nil || e.Sinf.Frma == nil {
			return "", fmt.Errorf("enca without sinf/frma")
		}
		format = e.Sinf.Frma.DataFormat
	}
	switch format {
	case "mp4a":
		if e.Esds == nil || e.Esds.DecConfigDescriptor == nil {
			return "", fmt.Errorf("no esds")
		}
		dcd := e.Esds.DecConfigDescriptor
		if dcd.ObjectType != 0x40 {
			return fmt.Sprintf("mp4a.%02X", dcd.ObjectType), nil
		}
		if dcd.DecSpecificInfo == nil {
			return "", fmt.Errorf("esds has no AudioSpecificConfig")
		}
		aot, err := audioObjectType(dcd.DecSpecificInfo.DecConfig)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("mp4a.40.%d", aot), nil
	case "Opus":
		return "opus", nil
	case "fLaC":
		return "flac", nil
	}
	return format, nil // ac-3, ec-3, ac-4, iamf, mha1, ...
}

// audioObjectType reads the leading audioObjectType of an AudioSpecificConfig
// (ISO/IEC 14496-3 1.6.2.1), including the escape value 31.
func audioObjectType(asc []byte) (int, error) {
	if len(asc) == 0 {
		return 0, fmt.Errorf("empty AudioSpecificConfig")
	}
	aot := int(asc[0] >> 3)
	if aot == 31 {
		if len(asc) < 2 {
			return 0, fmt.Errorf("AudioSpecificConfig cut in escaped audioObjectType")
		}
		aot = 32 + (int(asc[0]&0x07)<<3 | int(asc[1]>>5))
	}
	if aot == 0 {
		return 0, fmt.Errorf("AudioSpecificConfig audioObjectType is 0")
	}
	return aot, nil
}
