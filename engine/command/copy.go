package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pkg/sftp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// copy copies a CopyToRemote's source to its remotePath over SFTP, with upstream's rules:
//
//	source | remote path is a dir  | does not exist | is a file
//	dir    | path/dir              | path/dir       | error
//	dir/   | path/x for x in dir   | path           | error
//	file   | path/file             | path           | path (overwritten)
//
// A text asset is written to remotePath, which must not be a directory.
func (p *commandProvider) copy(urn resource.URN, state resource.PropertyMap) error {
	conn, err := connectionOf(state["connection"])
	if err != nil {
		return err
	}
	remotePath := stringOf(state["remotePath"])
	source := unsecret(state["source"])
	client, err := conn.dial(p.ctx)
	if err != nil {
		return err
	}
	defer func() { _ = client.Close() }()
	remote, err := sftp.NewClient(client)
	if err != nil {
		return fmt.Errorf("starting SFTP on %s (the server must offer the sftp subsystem): %w", conn.address(), err)
	}
	defer func() { _ = remote.Close() }()
	p.logger(urn)(fmt.Sprintf("copying to %s:%s", conn.host, remotePath))

	switch {
	case source.IsAsset() && source.AssetValue().IsText():
		info, err := remoteStat(remote, remotePath)
		if err != nil {
			return err
		}
		if info != nil && info.IsDir() {
			return fmt.Errorf("remote path %s is a directory: for a text asset, remotePath must name the file", remotePath)
		}
		return writeRemote(remote, strings.NewReader(source.AssetValue().Text), remotePath)
	case source.IsAsset():
		return copyPath(remote, source.AssetValue().Path, remotePath)
	case source.IsArchive():
		return copyPath(remote, source.ArchiveValue().Path, remotePath)
	}
	return errors.New("source is neither an asset nor an archive")
}

func copyPath(remote *sftp.Client, source, destination string) error {
	info, err := os.Stat(source)
	if err != nil {
		return err
	}
	target, err := remoteStat(remote, destination)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		if target != nil && target.IsDir() {
			destination = path.Join(destination, filepath.Base(source))
		}
		return copyFile(remote, source, destination)
	}
	if target != nil && !target.IsDir() {
		return fmt.Errorf("remote path %s exists and is not a directory: cannot copy the directory %s into it", destination, source)
	}
	if target == nil {
		if err := remote.Mkdir(destination); err != nil {
			return fmt.Errorf("creating the remote directory %s: %w", destination, err)
		}
	}
	if !strings.HasSuffix(source, "/") {
		destination = path.Join(destination, filepath.Base(source))
	}
	return filepath.WalkDir(source, func(local string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		relative, err := filepath.Rel(source, local)
		if err != nil {
			return err
		}
		to := path.Join(destination, filepath.ToSlash(relative))
		if !entry.IsDir() {
			return copyFile(remote, local, to)
		}
		existing, err := remoteStat(remote, to)
		if err != nil {
			return err
		}
		if existing == nil {
			if err := remote.Mkdir(to); err != nil {
				return fmt.Errorf("creating the remote directory %s: %w", to, err)
			}
		} else if !existing.IsDir() {
			return fmt.Errorf("remote path %s exists and is not a directory", to)
		}
		return nil
	})
}

func copyFile(remote *sftp.Client, source, destination string) error {
	file, err := os.Open(source)
	if err != nil {
		return err
	}
	defer func() { _ = file.Close() }()
	return writeRemote(remote, file, destination)
}

func writeRemote(remote *sftp.Client, from io.Reader, destination string) error {
	file, err := remote.Create(destination)
	if err != nil {
		return fmt.Errorf("creating the remote file %s: %w", destination, err)
	}
	if _, err := file.ReadFrom(from); err != nil {
		_ = file.Close()
		return fmt.Errorf("writing the remote file %s: %w", destination, err)
	}
	return file.Close()
}

// remoteStat is nil, nil when the remote path does not exist.
func remoteStat(remote *sftp.Client, name string) (fs.FileInfo, error) {
	info, err := remote.Stat(name)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("looking at the remote path %s: %w", name, err)
	}
	return info, nil
}
